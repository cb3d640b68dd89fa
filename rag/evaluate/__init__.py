"""`newsrag eval`: retrieval metrics on RGB-shaped data and QA accuracy on seed-QA-shaped data."""
