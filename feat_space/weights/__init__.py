"""Where model weights come from: model roles, sources on the Hub, profiles, tiny weights."""
