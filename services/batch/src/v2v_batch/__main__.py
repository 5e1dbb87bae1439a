"""``python -m v2v_batch [api|consumer|relay|all | migrate | rebuild]``: run the batch
service's roles, bring its schema up to date, or rebuild its read models.

``python -m v2v_batch load-mbrs SITE [FILE ...]``: load master batch records as drafts at
SITE (default files: the packaged seeds, ``v2v_batch/mbrs/*.json``)."""

import sys

from v2v_runtime.service import main

from .bootstrap import build
from .seed_command import load_mbrs_command

if __name__ == "__main__":
    if sys.argv[1:2] == ["load-mbrs"]:
        load_mbrs_command(build, sys.argv[2:])
    else:
        main(build)
