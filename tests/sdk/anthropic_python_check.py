"""The official Anthropic Python SDK against the gateway's /v1/messages, unchanged.

Run by tests/tests/official_sdks.rs. Usage: python3 anthropic_python_check.py BASE_URL
(BASE_URL like http://127.0.0.1:8080, the SDK appends /v1/messages). Exits non-zero on the first
mismatch.
"""

import sys

import anthropic


def check(condition, message):
    if not condition:
        print(f"FAILED: {message}", file=sys.stderr)
        sys.exit(1)


def main():
    client = anthropic.Anthropic(base_url=sys.argv[1], api_key="unused", max_retries=0, timeout=20)
    messages = [{"role": "user", "content": "hello from claude sdk"}]

    reply = client.messages.create(model="mock/echo", max_tokens=100, system="be brief", messages=messages)
    check(reply.type == "message" and reply.role == "assistant", f"shape {reply}")
    check(reply.content[0].type == "text", f"content {reply.content}")
    check(reply.content[0].text == "hello from claude sdk", f"text {reply.content}")
    check(reply.stop_reason == "end_turn", f"stop_reason {reply.stop_reason}")
    check(reply.usage.input_tokens == 6 and reply.usage.output_tokens == 4, f"usage {reply.usage}")

    truncated = client.messages.create(model="mock/echo", max_tokens=2, messages=messages)
    check(truncated.stop_reason == "max_tokens", f"max_tokens stop {truncated.stop_reason}")

    with client.messages.stream(model="mock/echo", max_tokens=100, messages=messages) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    check(text == "hello from claude sdk", f"streamed text {text!r}")
    check(final.stop_reason == "end_turn", f"streamed stop {final.stop_reason}")
    check(final.usage.output_tokens == 4, f"streamed usage {final.usage}")

    try:
        client.messages.create(model="no-such-model", max_tokens=10, messages=messages)
        check(False, "unknown model should fail")
    except anthropic.NotFoundError as error:
        check(error.body["error"]["type"] == "not_found_error", f"body {error.body}")

    try:
        client.messages.create(model="limited/echo", max_tokens=10, messages=messages)
        check(False, "a rate limited provider should fail")
    except anthropic.RateLimitError as error:
        check(error.response.headers.get("retry-after") == "1", f"headers {dict(error.response.headers)}")

    try:
        with client.messages.stream(model="broken/echo", max_tokens=100, messages=messages) as stream:
            for _ in stream.text_stream:
                pass
        check(False, "a stream failing mid-way must raise, not end cleanly")
    except anthropic.APIStatusError as error:
        check("scripted failure" in str(error), f"mid-stream error {error}")

    print("anthropic python sdk: all checks passed")


if __name__ == "__main__":
    main()
