"""Pure domain core: conversation status, business hours, the first-response clock.

No I/O and no third-party imports (tests/unit/test_purity.py holds the line), so every rule
here is a plain function of its inputs and is tested with plain calls.
"""
