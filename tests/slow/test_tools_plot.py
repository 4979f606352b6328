"""A matplotlib plot made by model-written code in the real bubblewrap sandbox appears in the
trace panel under its step (picture or a line: name, size, WxH).

Needs matplotlib importable by the sandbox's Python (as root that is /usr/bin/python3: the
Debian package python3-matplotlib; see README "Tools")."""

from __future__ import annotations

import subprocess

import pytest

from backends.agent.sandbox import interpreter, isolation
from testkit.agent import ANSWER, agent_app
from testkit.app import wait_for
from tui.screens.approval import ApprovalScreen
from tui.screens.chat import ChatScreen
from tui.widgets.trace_panel import TracePanel

PLOT = (
    "Thought: plot it.\nAction: python\nAction Input: ```python\n"
    "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
    "plt.figure(figsize=(4, 3), dpi=50)\nplt.plot([0, 1, 2], [0, 1, 4])\nplt.savefig('squares.png')\n"
    "print('saved')\n```\n"
)


def _matplotlib_in_the_sandbox() -> bool:
    found = subprocess.run([interpreter(), "-c", "import matplotlib"], capture_output=True, timeout=60)
    return found.returncode == 0


@pytest.mark.skipif(not isolation().available, reason="bubblewrap cannot isolate here")
@pytest.mark.skipif(
    not _matplotlib_in_the_sandbox(), reason="matplotlib is not installed for the sandbox's Python"
)
async def test_a_sandboxed_matplotlib_plot_appears_in_the_trace() -> None:
    app, llm = agent_app([PLOT, ANSWER], approve="auto")
    async with app.run_test(size=(140, 45)) as pilot:
        chat = app.screen
        assert isinstance(chat, ChatScreen)
        await wait_for(pilot, lambda: chat.session.backend is not None)
        await pilot.press(*"plot squares", "enter")
        await wait_for(pilot, lambda: not chat.busy, timeout=60)
        assert not isinstance(app.screen, ApprovalScreen)
        step = next(s for s in chat.query_one(TracePanel).steps if s.data.kind == "tool")
        assert step.data.ok, step.data.output
        assert step.data.files and step.data.files[0].startswith("squares.png")
        assert step.data.files[0].endswith("200×150")
    assert "[saved squares.png" in "\n".join(m.content for m in llm.seen[1])
