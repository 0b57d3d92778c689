"""A GPU instance on Ray: one Serve application serving one model, OpenAI-compatible.

With the ``vllm`` engine it is Ray Serve LLM's own application (``ray.serve.llm``: an
``LLMConfig`` with the model, the accelerator type and the engine's arguments), which needs
``ray[llm]`` where it runs. The ``standin`` engine is a small CPU stand-in that answers like
one (``/v1/models``, ``/v1/chat/completions``, ``/v1/completions``) while holding the GPUs
and the accelerator the instance asked for: what tests run on a Ray cluster that declares
GPUs it does not have."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from ray import serve
from ray.serve import Application
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

# Ray schedules a replica that asks for an accelerator on a node that declares it, as
# Ray Serve LLM does with ``accelerator_type``.
ACCELERATOR_SHARE = 0.001


def build_gpu_instance(args: dict[str, Any]) -> Application:
    config: dict[str, Any] = args["llm_config"]
    if args.get("engine", "vllm") == "vllm":
        from ray.serve.llm import LLMConfig, build_openai_app

        return build_openai_app({"llm_configs": [LLMConfig(**config)]})
    gpus = int(config.get("engine_kwargs", {}).get("tensor_parallel_size", 1))
    options: dict[str, Any] = {"num_cpus": args.get("cpus", 0.05), "num_gpus": gpus}
    if config.get("accelerator_type"):
        options["resources"] = {f"accelerator_type:{config['accelerator_type']}": ACCELERATOR_SHARE}
    standin = serve.deployment(name="standin-engine", ray_actor_options=options)
    return standin(StandinEngine).bind(config["model_loading_config"]["model_id"])


class StandinEngine:
    """Answers as an OpenAI-compatible engine would, with a fixed text, counting what it has
    in flight (what a heartbeat reports as its load)."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.in_flight = 0
        self.created = int(time.time())

    async def __call__(self, request: Request) -> Response:
        path = request.url.path.rstrip("/")
        if request.method == "GET" and path.endswith("/v1/models"):
            return JSONResponse(
                {
                    "object": "list",
                    "data": [
                        {
                            "id": self.model,
                            "object": "model",
                            "created": self.created,
                            "owned_by": "galapagos",
                        }
                    ],
                }
            )
        if request.method != "POST" or not path.endswith(
            ("/v1/chat/completions", "/v1/completions")
        ):
            return JSONResponse(
                {"error": {"message": f"no route {path}", "type": "not_found"}}, 404
            )
        self.in_flight += 1
        try:
            body = json.loads(await request.body() or b"{}")
            if body.get("model") != self.model:
                return JSONResponse(
                    {
                        "error": {
                            "message": f"model '{body.get('model')}' is not served here",
                            "type": "invalid_request_error",
                            "code": "model_not_found",
                        }
                    },
                    404,
                )
            return JSONResponse(self._answer(path.endswith("/chat/completions")))
        finally:
            self.in_flight -= 1

    def _answer(self, chat: bool) -> dict[str, Any]:
        text = f"{self.model} (stand-in engine)"
        usage = {"prompt_tokens": 1, "completion_tokens": 4, "total_tokens": 5}
        common = {
            "id": f"cmpl-{uuid.uuid4().hex}",
            "created": int(time.time()),
            "model": self.model,
            "usage": usage,
        }
        if chat:
            choice = {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
            return {**common, "object": "chat.completion", "choices": [choice]}
        return {
            **common,
            "object": "text_completion",
            "choices": [{"index": 0, "text": text, "finish_reason": "stop"}],
        }
