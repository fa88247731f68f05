from __future__ import annotations

import sys
from pathlib import Path

# the tests import their helpers by module name
sys.path.insert(0, str(Path(__file__).parent))
