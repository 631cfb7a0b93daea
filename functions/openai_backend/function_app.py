"""The regional streaming function (Azure Functions, Python v2 programming model, HTTP streams).

One HTTP function, ``openai/{*path}`` (``host.json`` sets an empty route prefix, so its URLs mirror
the Azure OpenAI account's: ``/openai/deployments/{deployment}/chat/completions?api-version=``,
``/openai/v1/chat/completions``). Auth level FUNCTION: only a holder of a function key (API
Management, which keeps it as a secret named value and sends it as ``x-functions-key``) can call it.

The FastAPI ``Request``/``Response`` types of ``azurefunctions-extensions-http-fastapi`` turn on
HTTP streams (the app setting ``PYTHON_ENABLE_INIT_INDEXING=1`` is needed too), so a streamed
completion reaches the caller chunk by chunk. The work is in ``openai_relay``.
"""

import azure.functions as func
import openai_relay
from azurefunctions.extensions.http.fastapi import Request, Response

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.route(route="openai/{*path}", methods=[func.HttpMethod.POST], auth_level=func.AuthLevel.FUNCTION)
async def openai_backend(req: Request) -> Response:
    return await openai_relay.handle(req)
