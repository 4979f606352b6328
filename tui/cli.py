"""Command line: parse flags, validate them early, then launch the app.

Misuse gets one line on stderr and exit code 2; no traceback ever reaches the user. What is
printed to a terminal passes the sanitiser (messages quote file names, servers and models).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from backends.base import BackendConfigError
from backends.events import GenerationParams
from backends.options import AgentOptions, BackendOptions, RemoteOptions
from backends.registry import BACKEND_NAMES, check_backend_name
from kb.errors import KbError
from tui import __version__
from tui.attachments import DEFAULT_MAX_MB, AttachmentError, Loaded, load_attachment
from tui.config import (
    ConfigError,
    FileConfig,
    approve_auto_from_file,
    default_config_path,
    line_of,
    load_config,
)
from tui.pending_files import MAX_FILES
from tui.resume import LATEST, apply_resume
from tui.sanitize import one_line, sanitize
from tui.settings import AppSettings
from tui.store.store import StoreError, open_store

EXIT_USAGE = 2

TRUST_HELP = (
    "run Python code shipped with a hub model (its modelling/tokenizer files). Off by default: "
    "that code runs with your user's rights, and InternLM2/2.5/3 load without it."
)


class UsageError(Exception):
    """CLI misuse: printed as one line, exit code 2."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but errors are a single line and raise instead of printing usage."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see internlm-tui --help)")


class AppendUrl(argparse.Action):
    """``--base-url`` may be given several times; given on the command line at all, it replaces
    the config file's list instead of adding to it (argparse's ``append`` would add)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[object] | None,
        option_string: str | None = None,
    ) -> None:
        current = getattr(namespace, self.dest, None)
        urls = [] if current is None or current is self.default else list(current)
        urls.append(str(values))
        setattr(namespace, self.dest, urls)


def url_list(value: object) -> list[str]:
    """``--base-url`` as a list, whether it came from flags, the config file or a saved chat."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(url) for url in value]  # type: ignore[attr-defined]


def positive_integer(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def non_negative_number(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def positive_number(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text}")
    return value


def non_negative_integer(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text}")
    return value


def build_parser() -> OneLineParser:
    """All flags, grouped the way --help shows them."""
    parser = OneLineParser(
        prog="internlm-tui",
        description="Keyboard-only terminal chat for InternLM-family models. "
        "With no flags it chats with the embedded SmolLM2-135M-Instruct model. "
        "'internlm-tui download ORG/NAME' fetches a hub model with progress (see download --help).",
    )
    parser.add_argument("--version", action="version", version=f"internlm-tui {__version__}")
    parser.add_argument(
        "--config",
        default=None,
        metavar="PATH",
        help="TOML file of defaults for these flags, a theme and a keymap "
        "(default: ~/.config/internlm-tui/config.toml; env INTERNLM_TUI_CONFIG)",
    )
    model = parser.add_argument_group("model and backend")
    model.add_argument(
        "--backend", default=None, metavar="NAME", help=f"one of: {', '.join(BACKEND_NAMES)} (default: local)"
    )
    model.add_argument(
        "--model",
        default=None,
        metavar="PATH_OR_ID",
        help="model folder, .gguf file or hub id (local); model name (remote); default: the embedded model",
    )
    model.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None, help="default: auto")
    model.add_argument(
        "--dtype",
        choices=["auto", "float32", "float16", "bfloat16"],
        default=None,
        help="default: auto (bfloat16 on GPU, float32 on CPU)",
    )
    model.add_argument("--trust-remote-code", action="store_true", default=None, help=TRUST_HELP)
    model.add_argument("--adapter", metavar="DIR", default=None, help="LoRA adapter folder (peft)")
    model.add_argument("--bits", type=int, choices=[4, 8], default=None, help="load quantised (CUDA only)")

    gen = parser.add_argument_group("generation")
    gen.add_argument("--system", default=None, help="system prompt")
    gen.add_argument("--temperature", type=non_negative_number, default=None, help="0 = greedy")
    gen.add_argument("--top-p", type=non_negative_number, default=None)
    gen.add_argument("--top-k", type=positive_integer, default=None)
    gen.add_argument("--repetition-penalty", type=non_negative_number, default=None)
    gen.add_argument("--max-new-tokens", type=positive_integer, default=None, help="default: 512")
    gen.add_argument("--seed", type=int, default=None)
    gen.add_argument("--no-stream", action="store_true", default=None, help="show each reply when complete")

    remote = parser.add_argument_group("remote backend")
    remote.add_argument(
        "--base-url",
        default=None,
        action=AppendUrl,
        help="OpenAI-compatible server, e.g. http://host:23333/v1; give it again for more servers "
        "of the same model (each new chat goes to the fastest healthy one)",
    )
    remote.add_argument(
        "--api-key-env",
        default=None,
        metavar="VAR",
        help="environment variable holding the API key (default: OPENAI_API_KEY)",
    )
    for flag, default, text in (
        ("--connect-timeout", 10, "seconds to connect"),
        ("--first-token-timeout", 120, "seconds to wait for the first token"),
        ("--chunk-timeout", 60, "seconds allowed between chunks"),
        ("--deadline", 900, "overall limit for one reply, in seconds"),
    ):
        remote.add_argument(
            flag, type=positive_number, default=None, metavar="S", help=f"{text} (default: {default})"
        )
    remote.add_argument(
        "--max-retries",
        type=non_negative_integer,
        default=None,
        metavar="N",
        help="retries before the first token, for 429/5xx/connect errors (default: 3)",
    )
    remote.add_argument("--ca-file", default=None, metavar="PEM", help="extra CA certificates to trust")

    looks = parser.add_argument_group("appearance")
    looks.add_argument(
        "--theme", default=None, metavar="NAME", help="colour theme (ctrl+p → Theme lists them)"
    )
    looks.add_argument(
        "--clipboard",
        choices=["auto", "osc52", "file"],
        default=None,
        help="how copies reach you: the terminal's clipboard (OSC 52, also over SSH and tmux), "
        "a file, or auto (a file on terminals without OSC 52, such as the Linux console)",
    )

    files = parser.add_argument_group("images")
    files.add_argument(
        "--attach",
        action="append",
        default=None,
        metavar="PATH",
        help="attach an image (any file with --backend agent) to the first prompt; repeatable",
    )
    files.add_argument(
        "--no-image-preview",
        action="store_true",
        default=None,
        help="show attached images as a line of text (name, size, pixels) instead of a picture",
    )
    files.add_argument(
        "--image-max-side",
        type=non_negative_integer,
        default=None,
        metavar="PX",
        help="scale images larger than this (longest side) before sending; 0 sends them as they are "
        f"(default: {RemoteOptions().image_max_side})",
    )
    files.add_argument(
        "--max-attachment-mb",
        type=positive_number,
        default=None,
        metavar="MB",
        help=f"largest file that can be attached (default: {DEFAULT_MAX_MB:g})",
    )

    history = parser.add_argument_group("history")
    history.add_argument(
        "--db",
        default=None,
        metavar="PATH",
        help="history database (default: user data dir; env INTERNLM_TUI_DB)",
    )
    history.add_argument("--list", action="store_true", help="list saved conversations and exit")
    history.add_argument(
        "--resume",
        nargs="?",
        const=LATEST,
        type=int,
        default=None,
        metavar="ID",
        help="open a saved conversation (no ID: the most recent)",
    )
    history.add_argument(
        "--export", type=int, default=None, metavar="ID", help="print a conversation and exit"
    )
    history.add_argument("--format", choices=["md", "json"], default="md", help="export format (default: md)")
    history.add_argument("-o", "--output", default=None, metavar="FILE", help="write the export to FILE")

    agent = parser.add_argument_group("agent backend")
    agent.add_argument(
        "--tools",
        default=None,
        help="comma-separated tools a new chat may call (default: all: python, MCP tools as server__tool)",
    )
    agent.add_argument(
        "--mcp-config",
        default=None,
        metavar="PATH",
        help="an mcpServers JSON file: its stdio and streamable-HTTP servers become the agent's tools",
    )
    agent.add_argument(
        "--approve",
        choices=["ask", "auto"],
        default=None,
        help="ask before running model-written code (default: ask)",
    )
    agent.add_argument(
        "--unisolated-tools",
        action="store_true",
        default=None,
        help="run the Python tool even where it cannot be isolated (no bubblewrap / user namespaces): "
        "it can then read your files and reach the network",
    )
    knowledge = parser.add_argument_group("knowledge base")
    knowledge.add_argument(
        "--kb",
        action="append",
        default=None,
        metavar="DIR",
        help="attach a folder of documents (Markdown, text, reST, HTML, PDF); repeatable",
    )
    knowledge.add_argument(
        "--kb-query",
        default=None,
        metavar="TEXT",
        help="index the --kb folders, print the best passages as JSON and exit (--top-k N of them, "
        "default 5)",
    )
    knowledge.add_argument(
        "--embedding-model",
        default=None,
        metavar="PATH_OR_ID",
        help="sentence-transformers model for search (default: the packaged all-MiniLM-L6-v2; "
        "BAAI/bge-m3 for Chinese)",
    )
    return parser


def settings_from_args(args: argparse.Namespace, config: FileConfig | None = None) -> AppSettings:
    """Turn parsed flags into settings, validating what can be checked without loading."""
    if args.theme is not None:
        check_theme(args.theme)
    backend_name = args.backend or "local"
    check_backend_name(backend_name)
    urls = url_list(args.base_url)
    uses_local_model = backend_name == "local" or (backend_name == "agent" and not urls)
    if uses_local_model:
        from backends.local.model_source import resolve_model

        resolve_model(args.model)
    if backend_name == "remote" and not urls:
        raise UsageError("--backend remote needs --base-url, e.g. http://host:23333/v1")
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise UsageError(f"--base-url must start with http:// or https://, got {url!r}")
    if len(set(urls)) != len(urls):
        raise UsageError("--base-url: the same server is given twice")
    if args.ca_file and not Path(args.ca_file).expanduser().is_file():
        raise UsageError(f"--ca-file {args.ca_file} is not a readable file")
    defaults = RemoteOptions()
    remote = RemoteOptions(
        base_url=urls[0] if urls else None,
        more_urls=tuple(urls[1:]),
        api_key_env=args.api_key_env or defaults.api_key_env,
        connect_timeout_s=args.connect_timeout or defaults.connect_timeout_s,
        first_token_timeout_s=args.first_token_timeout or defaults.first_token_timeout_s,
        chunk_timeout_s=args.chunk_timeout or defaults.chunk_timeout_s,
        deadline_s=args.deadline or defaults.deadline_s,
        max_retries=defaults.max_retries if args.max_retries is None else args.max_retries,
        ca_file=str(Path(args.ca_file).expanduser()) if args.ca_file else None,
        image_max_side=defaults.image_max_side if args.image_max_side is None else args.image_max_side,
    )
    tools = tuple(t.strip() for t in (args.tools or "").split(",") if t.strip())
    mcp_config = getattr(args, "mcp_config", None)
    if mcp_config:
        from backends.agent.mcp_client import McpConfigError, load_config

        mcp_config = str(Path(mcp_config).expanduser())
        try:
            load_config(mcp_config)
        except McpConfigError as exc:
            raise UsageError(str(exc)) from None
    auto_from_file = getattr(args, "auto_approve_from", None)
    agent = AgentOptions(
        llm_backend="remote" if urls else "local",
        tools=tools,
        mcp_config=mcp_config,
        approve="ask" if auto_from_file else (args.approve or "ask"),
        unisolated_tools=bool(args.unisolated_tools),
    )
    options = BackendOptions(
        backend=backend_name,
        model=args.model,
        device=args.device or "auto",
        dtype=args.dtype or "auto",
        trust_remote_code=bool(args.trust_remote_code),
        adapter=args.adapter,
        bits=args.bits,
        remote=remote,
        agent=agent,
    )
    params = GenerationParams(
        temperature=args.temperature,
        top_p=args.top_p,
        top_k=args.top_k,
        repetition_penalty=args.repetition_penalty,
        max_new_tokens=args.max_new_tokens or 512,
        seed=args.seed,
        stream=not args.no_stream,
    )
    return AppSettings(
        backend=options,
        params=params,
        system=args.system,
        db_path=Path(args.db).expanduser() if args.db else None,
        resume=args.resume,
        theme=args.theme,
        clipboard=args.clipboard or "auto",
        keymap=dict(config.keymap) if config else {},
        kb_folders=kb_folders(args),
        embedding_model=args.embedding_model,
        auto_approve_from=auto_from_file,
        image_preview=not args.no_image_preview,
        max_attachment_mb=args.max_attachment_mb or DEFAULT_MAX_MB,
        attach=attached_files(
            args.attach or [], any_file=backend_name == "agent", max_mb=args.max_attachment_mb
        ),
    )


def kb_folders(args: argparse.Namespace) -> tuple[Path, ...]:
    """The ``--kb`` folders, each checked to exist (misuse otherwise)."""
    folders = []
    for text in args.kb or ():
        folder = Path(text).expanduser()
        if not folder.is_dir():
            raise UsageError(f"--kb {text} is not a folder")
        folders.append(folder)
    return tuple(folders)


def attached_files(paths: list[str], *, any_file: bool, max_mb: float | None) -> tuple[Loaded, ...]:
    """``--attach`` files, loaded and checked now: a bad one is CLI misuse (one line, exit 2)."""
    found: list[Loaded] = []
    for path in paths:
        try:
            loaded = load_attachment(path, any_file=any_file, max_mb=max_mb or DEFAULT_MAX_MB)
        except AttachmentError as exc:
            raise UsageError(f"--attach: {exc}") from None
        if all(item.attachment.sha256 != loaded.attachment.sha256 for item in found):
            found.append(loaded)
    if len(found) > MAX_FILES:
        raise UsageError(f"--attach: at most {MAX_FILES} files can go with one prompt")
    return tuple(found)


def check_theme(name: str) -> None:
    """An unknown theme is CLI misuse: say which ones exist."""
    from themes import load_catalog

    catalog = load_catalog()
    if name not in catalog.themes:
        raise UsageError(f"unknown theme {name!r}; choose one of: {', '.join(catalog.names)}")


def parse_with_config(argv: Sequence[str] | None = None) -> tuple[argparse.Namespace, FileConfig]:
    """Parse flags over the config file's defaults (``--config`` is read first)."""
    parser = build_parser()
    pre = OneLineParser(add_help=False)
    pre.add_argument("--config", default=None)
    known, _ = pre.parse_known_args(argv)
    path = Path(known.config).expanduser() if known.config else default_config_path()
    config = load_config(path, parser, required=known.config is not None)
    parser.set_defaults(**config.defaults)
    args = parser.parse_args(argv)
    args.auto_approve_from = config.path if approve_auto_from_file(config, argv) else None
    return args, config


def parse_settings(argv: Sequence[str] | None = None) -> AppSettings:
    """Parse and validate; raises ``UsageError`` or ``BackendConfigError`` with one line."""
    args, config = parse_with_config(argv)
    return settings_from_args(args, config)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``internlm-tui`` console script."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["download"]:
        return download_main(arguments[1:])
    try:
        args, config = parse_with_config(argv)
        if args.list or args.export is not None:
            return run_history_command(args)
        if args.kb_query is not None:
            return run_kb_query(args)
        store = open_store(Path(args.db).expanduser() if args.db else None)
        if args.resume is not None:
            apply_resume(args, store)
        settings = settings_from_args(args, config)
        check_keymap(settings.keymap, config.path)
    except (UsageError, ConfigError, BackendConfigError, StoreError, KbError, OSError) as exc:
        print(f"internlm-tui: error: {one_line(str(exc), limit=1000)}", file=sys.stderr)
        return EXIT_USAGE
    from tui import image_preview

    image_preview.detect(settings.image_preview)  # asks the terminal: must run before Textual starts
    from tui.app import InternLMApp

    app = InternLMApp(settings, store=store)
    app.run()
    return app.return_code or 0


def download_main(argv: Sequence[str]) -> int:
    """``internlm-tui download ORG/NAME [--revision R] [--hub hf|modelscope]``."""
    from tui.download_command import main as run

    parser = OneLineParser(prog="internlm-tui download", description="Download a model into the hub cache.")
    try:
        return run(argv, parser)
    except UsageError as exc:
        print(f"internlm-tui: error: {one_line(str(exc), limit=1000)}", file=sys.stderr)
        return EXIT_USAGE


def check_keymap(keymap: dict[str, str], path: Path | None) -> None:
    """Every keymap entry must name a binding that exists (a typo would silently do nothing)."""
    if not keymap:
        return
    from tui.keymap import binding_ids

    known = binding_ids()
    for binding_id in keymap:
        if binding_id not in known:
            line = line_of(path.read_text(encoding="utf-8"), "keymap", binding_id) if path else None
            where = f"{path}:{line}" if line else str(path)
            raise ConfigError(
                f"{where}: [keymap] has no binding {binding_id!r}; known ids: {', '.join(sorted(known))}"
            )


def run_kb_query(args: argparse.Namespace) -> int:
    """``--kb-query``: index the folders, print the hits as JSON; no app, no chat model."""
    from kb.cli import query

    if not args.kb:
        raise UsageError("--kb-query needs at least one --kb DIR")
    if not args.kb_query.strip():
        raise UsageError("--kb-query needs some text to search for")
    folders = kb_folders(args)
    text, warnings = query(folders, args.kb_query, args.top_k or 5, args.embedding_model)
    for warning in warnings:
        print(f"internlm-tui: warning: {one_line(warning, limit=1000)}", file=sys.stderr)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
    return 0


def run_history_command(args: argparse.Namespace) -> int:
    """``--list`` and ``--export`` work without starting the app."""
    from tui.exporting import write_export
    from tui.store.export import export

    store = open_store(Path(args.db).expanduser() if args.db else None)
    if store.warning:
        raise StoreError(store.warning)
    if args.list:
        for conversation in store.list_conversations():
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(conversation.updated_at))
            count = store.count_messages(conversation.id)
            title = sanitize(conversation.title)
            print(f"{conversation.id:>6}  {when}  {count:>4} msgs  {title}")
        return 0
    text = export(store, args.export, args.format)
    if args.output:
        write_export(Path(args.output).expanduser(), text)
    else:
        write_export_to_stdout(text)
    return 0


def write_export_to_stdout(text: str) -> None:
    """On a terminal the export is sanitised (an escape sequence in a reply must not reach it);
    redirected to a file or a pipe it is written exactly as stored."""
    stream = sys.stdout
    if stream.isatty():
        stream.write(sanitize(text))
    elif (raw := getattr(stream, "buffer", None)) is not None:
        stream.flush()
        raw.write(text.encode("utf-8", "replace"))  # the stored bytes, whatever the locale
    else:
        stream.write(text)
    stream.flush()
