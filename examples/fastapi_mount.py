"""pyrtvi in your own FastAPI app: the console, the runtime and the RTVI endpoints under `/rtvi`,
talking to a Pipecat bot on its development runner.

    python bot.py -t webrtc                                  # your bot: http://localhost:7860
    PYRTVI_BOT_URL=http://localhost:7860 uvicorn examples.fastapi_mount:app --port 8000
    # open http://127.0.0.1:8000/rtvi/

`mount` chains pyrtvi's lifespan into this app's (Starlette never runs a mounted app's own) and
takes `pyrtvi serve`'s settings as keywords (`bot_url=...`, `allowed_origins=(...)`) over the
`PYRTVI_*` environment. The page, `/rtvi/pyscript.json`, the offer and WebSocket URLs all carry
the prefix. See docs/server.md, "Mount in your app".
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

from fastapi import FastAPI
from pyrtvi_server import mount


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.started = True  # your app's own startup: it runs as before, pyrtvi's around it
    yield


app = FastAPI(title="my app", lifespan=lifespan)


@app.get("/")
async def home() -> dict[str, object]:
    return {"console": "/rtvi/", "started": app.state.started}


mount(app, "/rtvi", bot_url=os.environ.get("PYRTVI_BOT_URL", "http://localhost:7860"))
