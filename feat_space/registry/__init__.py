"""The edit registry: one validated YAML file per edit in edits/."""
