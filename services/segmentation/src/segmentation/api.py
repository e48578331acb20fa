"""Segmentation's HTTP API. Issue #4 adds strategies and buckets; for now it serves no routes."""

from fastapi import APIRouter

from recaudo_common.runtime import Platform


def build_router(platform: Platform) -> APIRouter:
    return APIRouter(prefix="/v1", tags=["segmentation"])
