"""Training an edit from a text prompt: losses, the step loop with progress, checkpoints."""
