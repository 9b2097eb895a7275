"""FEAT editing: latent mapper + attention mask + feature blending, composed into edits."""
