"""The domain: models, errors and pure helpers. No request, no app, no clock."""
