from tests.fuzz.support import CASES


def pytest_terminal_summary(terminalreporter):
    if CASES:
        detail = ", ".join(f"{kind}={n}" for kind, n in sorted(CASES.items()))
        terminalreporter.write_line(f"fuzz_cases={sum(CASES.values())} ({detail})")
