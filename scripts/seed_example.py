# The custom credential service of the seed's "Example Implementation"
# (shared/seed/custom-credential-service.md), as the seed writes it, for
# CI to run as a real peer. Two changes only make it run here: Debian's
# pydantic is v1, which names model_dump() dict(); and the indentation the
# markdown lost is restored. Run: python3 -m uvicorn seed_example:app
# --app-dir scripts --host 127.0.0.1 --port PORT
from fastapi import FastAPI, HTTPException, Depends, Header
from pydantic import BaseModel
from typing import Optional
import uuid

app = FastAPI()

# In-memory storage (use a real database in production)
credentials_store = {}


class CreateCredentialRequest(BaseModel):
    name: str
    type: str  # "password" or "credit_card"
    username: Optional[str] = None
    password: Optional[str] = None
    totp: Optional[str] = None
    totp_type: Optional[str] = None


class CredentialResponse(BaseModel):
    id: str


def verify_token(authorization: str = Header(...)):
    if not authorization.startswith("Bearer "):
        raise HTTPException(401, "Invalid authorization header")
    token = authorization.split("Bearer ")[1]
    if token != "your_expected_api_token":
        raise HTTPException(401, "Invalid API token")


def _dump(model):
    # pydantic v2: model_dump(); v1 (Debian's): dict().
    return model.model_dump() if hasattr(model, "model_dump") else model.dict()


@app.post("/api/v1/credentials", response_model=CredentialResponse)
async def create_credential(
    request: CreateCredentialRequest,
    _: None = Depends(verify_token)
):
    credential_id = f"cred_{uuid.uuid4().hex[:12]}"
    credentials_store[credential_id] = _dump(request)
    return CredentialResponse(id=credential_id)


@app.get("/api/v1/credentials/{credential_id}")
async def get_credential(
    credential_id: str,
    _: None = Depends(verify_token)
):
    if credential_id not in credentials_store:
        raise HTTPException(404, "Credential not found")
    return credentials_store[credential_id]


@app.delete("/api/v1/credentials/{credential_id}")
async def delete_credential(
    credential_id: str,
    _: None = Depends(verify_token)
):
    if credential_id not in credentials_store:
        raise HTTPException(404, "Credential not found")
    del credentials_store[credential_id]
    return {"status": "deleted"}
