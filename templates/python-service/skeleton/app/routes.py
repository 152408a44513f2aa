"""The service's own endpoints. Add yours here: the metrics label each
request with the route template you declare (for example `/orders/{order_id}`).
"""

from fastapi import APIRouter

from app import SERVICE_NAME

router = APIRouter()


@router.get("/")
async def hello():
    return {"service": SERVICE_NAME, "message": f"Hello from {SERVICE_NAME}"}
