"""The official OpenAI Python SDK against the gateway, unchanged: run by tests/tests/openai_sdk.rs.

Usage: python3 openai_python_check.py BASE_URL   (BASE_URL like http://127.0.0.1:8080/v1)
Exits non-zero with a message on the first mismatch.
"""

import sys

import openai
from openai import OpenAI


def check(condition, message):
    if not condition:
        print(f"FAILED: {message}", file=sys.stderr)
        sys.exit(1)


def main():
    client = OpenAI(base_url=sys.argv[1], api_key="unused", max_retries=0, timeout=20)
    messages = [{"role": "user", "content": "hello from the sdk"}]

    reply = client.chat.completions.create(model="echo", messages=messages, temperature=0)
    check(reply.object == "chat.completion", f"object {reply.object}")
    check(reply.choices[0].message.content == "hello from the sdk", f"content {reply.choices[0].message}")
    check(reply.choices[0].finish_reason == "stop", f"finish {reply.choices[0].finish_reason}")
    check(reply.usage.total_tokens == 8, f"usage {reply.usage}")

    raw = client.chat.completions.with_raw_response.create(model="echo", messages=messages)
    check(raw.headers.get("x-llm-provider") == "mock", f"headers {dict(raw.headers)}")

    text, usage, finish = [], None, None
    stream = client.chat.completions.create(
        model="mock/echo", messages=messages, stream=True, stream_options={"include_usage": True}
    )
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            if choice.delta.content:
                text.append(choice.delta.content)
            if choice.finish_reason:
                finish = choice.finish_reason
    check("".join(text) == "hello from the sdk", f"streamed text {text}")
    check(finish == "stop", f"streamed finish {finish}")
    check(usage is not None and usage.completion_tokens == 4, f"streamed usage {usage}")

    ids = [model.id for model in client.models.list()]
    check("mock/echo" in ids, f"models {ids}")

    try:
        client.chat.completions.create(model="no-such-model", messages=messages)
        check(False, "unknown model should fail")
    except openai.NotFoundError as error:
        check(error.status_code == 404, f"status {error.status_code}")
        check(error.body["code"] == "not_found", f"body {error.body}")

    try:
        client.chat.completions.create(model="limited/echo", messages=messages)
        check(False, "a rate limited provider should fail")
    except openai.RateLimitError as error:
        check(error.response.headers.get("retry-after") == "1", f"headers {dict(error.response.headers)}")

    try:
        for _ in client.chat.completions.create(model="broken/echo", messages=messages, stream=True):
            pass
        check(False, "a stream failing mid-way must raise, not end cleanly")
    except openai.APIError as error:
        check("scripted failure" in str(error), f"mid-stream error {error}")

    print("openai python sdk: all checks passed")


if __name__ == "__main__":
    main()
