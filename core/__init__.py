"""The ground layer: errors, the one Settings, shared types, the text toolkit and
the model registries. It imports nothing of newsrag's; everything else builds on it.
"""
