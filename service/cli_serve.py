"""`linli serve`: run the HTTP service under uvicorn (one worker, 127.0.0.1:8000 by default)."""

from __future__ import annotations

import difflib
import os
import sys
from pathlib import Path

import uvicorn
from dotenv import dotenv_values
from pydantic import ValidationError

from engine.errors import RuleSetError, translate_field_error
from engine.messages import render
from service.cli_common import EXIT_INVALID, EXIT_OK, EXIT_USAGE, print_rule_errors
from service.settings import Settings

SECRET_SETTINGS = ("tokens", "tokens_file")
# Errors of the whole settings object, shown under the variable to change.
MODEL_ERROR_FIELDS = {"settings_no_auth_host": "host", "settings_no_tokens": "tokens",
                      "settings_tokens_file": "tokens_file"}


def register(subparsers, common, lang: str) -> None:
    zh = lang == "zh"
    parser = subparsers.add_parser(
        "serve", parents=[common],
        help="启动 HTTP 服务" if zh else "run the HTTP service",
        description="启动邻里 HTTP 服务。配置来自环境变量 LINLI_*（或当前目录的 .env 文件），"
                    "命令行选项优先。接口文档见 http://<地址>:<端口>/docs。" if zh
        else "Run the Linli HTTP service. Settings come from LINLI_* environment variables "
             "(or a .env file in the working directory); options here win. API docs at /docs.",
    )
    parser.add_argument("--host", default=None,
                        help="监听地址（默认 127.0.0.1，或 LINLI_HOST）" if zh
                        else "address to bind (default 127.0.0.1, or LINLI_HOST)")
    parser.add_argument("--port", type=int, default=None,
                        help="端口（默认 8000，或 LINLI_PORT）" if zh else "TCP port (default 8000, or LINLI_PORT)")
    parser.add_argument("--no-auth", action="store_true", default=None,
                        help="不检查 API 令牌；只允许监听回环地址（127.0.0.1、::1、localhost）" if zh
                        else "accept requests without API tokens; allowed on a loopback host only")
    parser.add_argument("--watch-rules", action="store_true", default=None,
                        help="规则文件改动后自动检查并重新加载（或 LINLI_WATCH_RULES=true）" if zh
                        else "check and reload the rules when a rule file changes (or LINLI_WATCH_RULES=true)")
    parser.add_argument("--env-file", metavar="FILE", default=".env",
                        help="读取配置的 .env 文件（默认 .env，不存在时忽略）" if zh
                        else "dotenv file to read settings from (default .env, ignored when missing)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    settings = load_settings(args)
    if settings is None:
        return EXIT_USAGE

    # Imported here so that `linli plan` does not pay for loading FastAPI.
    from service.app import create_app
    from service.observability import configure_json_logging

    configure_json_logging("DEBUG" if getattr(args, "verbose", 0) >= 2 else settings.log_level)
    try:
        app = create_app(settings)
    except RuleSetError as exc:
        print_rule_errors(exc.problems, args.lang)
        print(render("serve_rules_invalid", args.lang, path=settings.rules_dir or "rules/"), file=sys.stderr)
        return EXIT_INVALID

    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False,
                server_header=False, timeout_graceful_shutdown=10)
    return EXIT_OK


def load_settings(args) -> Settings | None:
    """Build the settings from the environment, the .env file and the options; print faults."""
    overrides = {
        "host": args.host,
        "port": args.port,
        "no_auth": args.no_auth,
        "watch_rules": args.watch_rules,
        "rules_dir": args.rules,
    }
    for name in unknown_variables(args.env_file):
        print(render("serve_unknown_setting", args.lang, name=name, hint=_hint(name, args.lang)), file=sys.stderr)
    try:
        return Settings(_env_file=args.env_file, **{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            print(setting_message(error, args.lang), file=sys.stderr)
        return None


def unknown_variables(env_file: str | None) -> list[str]:
    """List LINLI_* names in the environment or the .env file that are no setting (typos, usually)."""
    names = {name for name in os.environ if name.startswith("LINLI_")}
    if env_file and Path(env_file).is_file():
        names |= {name for name in dotenv_values(env_file) if name.startswith("LINLI_")}
    return sorted(names - set(_known_variables()))


def _known_variables() -> list[str]:
    return [f"LINLI_{field.upper()}" for field in Settings.model_fields]


def _hint(name: str, lang: str) -> str:
    close = difflib.get_close_matches(name, _known_variables(), n=1)
    if not close:
        return ""
    return f"是否想写 {close[0]}？" if lang == "zh" else f"Did you mean {close[0]}?"


def setting_message(error: dict, lang: str) -> str:
    """Say which LINLI_* variable is invalid and why; secret values are never shown."""
    chinese, english = translate_field_error(error)
    detail = chinese if lang == "zh" else english
    field = str(error["loc"][0]) if error.get("loc") else MODEL_ERROR_FIELDS.get(error["type"])
    name = f"LINLI_{field.upper()}" if field else "LINLI_*"
    if field is None or field in SECRET_SETTINGS or isinstance(error.get("input"), (dict, list)):
        return render("serve_setting", lang, name=name, detail=detail)
    return render("serve_setting_value", lang, name=name, value=repr(error.get("input")), detail=detail)
