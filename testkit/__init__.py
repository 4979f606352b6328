"""Helpers shared by the tests and the benchmarks (which never import each other).

app: a scripted app and waiting for its state; contract: the backend contract checks;
serve: a real ``transformers serve``; fault_server: a scripted misbehaving HTTP server;
tmux / sshd / pty_app: the real app in a terminal; internlm: tiny InternLM checkpoints;
agent: scripted agent turns; store: store fault injection.
"""
