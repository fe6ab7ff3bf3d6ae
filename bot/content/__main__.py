"""`python -m bot.content [CONTENT_DIR]`: run the content check; exit 1 on any failure."""

import sys
from pathlib import Path

from bot.content.check import content_check_main
from bot.content.loader import DEFAULT_CONTENT_DIR

if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CONTENT_DIR
    sys.exit(content_check_main(root, sys.stdout))
