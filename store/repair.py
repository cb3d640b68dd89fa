"""`newsrag doctor --fix`: make the store agree with itself again (store/audit.py says where it does not).

Apart from the audit, which only reads, since repairing takes the store's own writes
(undo a killed writer's half-done articles, remove an article, rebuild the keyword index).
"""

from __future__ import annotations

from store.audit import adopt, audit, few
from store.store import Store


def repair(store: Store) -> list[str]:
    """Make the invariant hold again (hold `store.writer(recover=False)`); returns what was done."""
    done = []
    if undone := store.recover():
        done.append(f"undid {len(undone)} interrupted article write(s) ({few(undone)}): ingest their files again")
    a = audit(store)
    done.extend(adopt(store, a))
    if a.orphans:
        store.chunks.delete_ids([cid for ids in a.orphans.values() for cid in ids])
        done.append(f"removed {sum(len(v) for v in a.orphans.values())} orphan chunk(s) of {len(a.orphans)} article(s)")
    for aid in sorted(a.broken):
        store.remove_article(aid)
        done.append(f"removed article {aid} (its chunks were damaged): run `newsrag ingest {a.broken_paths[aid]}` to restore it")
    if a.dangling_files and (n := store.manifest.drop_dangling_files()):
        done.append(f"dropped {n} file record(s) naming missing articles")
    if a.stray_temp:
        store.keyword.remove_stray_temp_files()
        done.append(f"deleted {a.stray_temp} half-written keyword index file(s)")
    if store.keyword_stale():
        store.sync_keyword()
        done.append(f"rebuilt the keyword index from Chroma ({store.chunks.count()} chunks)")
    return done
