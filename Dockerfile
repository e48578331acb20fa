# One image for every Recaudo service: `recaudo serve SERVICE --role api|worker`.
FROM python:3.11-slim AS build
COPY --from=ghcr.io/astral-sh/uv:0.9 /uv /usr/local/bin/uv
WORKDIR /app
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
COPY pyproject.toml uv.lock ./
COPY libs ./libs
COPY services ./services
# --no-dev: no test tools and no embedded PostgreSQL (the development extra recaudo-common[embedded]);
# tests/integration/test_image_dependencies.py resolves this line from uv.lock and checks it.
RUN uv sync --all-packages --frozen --no-dev --no-editable

FROM python:3.11-slim AS runtime
RUN useradd --uid 10001 --create-home recaudo
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
COPY --from=build /app/services /app/services
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)" || exit 1
ENTRYPOINT ["recaudo"]
CMD ["serve", "all", "--host", "0.0.0.0", "--port", "8000"]
