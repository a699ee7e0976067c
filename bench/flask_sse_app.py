"""The flask-sse app bench/sse.py compares with: flask-sse's `sse` blueprint as documented.

    REDIS_URL=redis://127.0.0.1:PORT gunicorn -k gevent --chdir bench flask_sse_app:app

GET /stream is flask-sse's stream (one Redis subscription per reader, nothing sent before the
first event); POST /publish?type=NAME publishes its JSON body with flask-sse's `sse.publish`,
as an application would; GET / answers "ok" (to see that the server is up).
"""

import os

from flask import Flask, request
from flask_sse import sse

app = Flask(__name__)
app.config["REDIS_URL"] = os.environ["REDIS_URL"]
app.register_blueprint(sse, url_prefix="/stream")


@app.get("/")
def index():
    return "ok"


@app.post("/publish")
def publish():
    sse.publish(request.get_json(), type=request.args.get("type"))
    return "", 204
