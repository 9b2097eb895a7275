"""The command line: `feat-space <command>` (installed console script) or `python -m feat_space <command>`.

One module per command family, each with `register(subparsers, common)` that adds its parsers and
sets `handler=<function(args) -> exit code>`; `COMMANDS` (in `main`) is the registry of families.

    feat-space download [--list]          # models: fetch and verify the model files (`pin` for maintainers)
    feat-space edits check|list           # edits: the registry of edit YAMLs
    feat-space edit photos/ --edit smile  # edit: photos or folders of photos, with a progress bar
    feat-space train edits/smile.yaml     # train: an edit from a YAML or a prompt
    feat-space publish trained/smile --repo you/feat-smile
    feat-space evaluate smile --samples 16
    feat-space env                        # environment: every FEAT_* variable, its value and meaning
"""

from .main import COMMANDS, build_parser, main

__all__ = ["COMMANDS", "build_parser", "main"]
