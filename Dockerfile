# Placeholder: the production image (multi-stage, non-root, pinned by constraints.txt) comes with the
# packaging issue. Until then this builds a working, minimal operator image.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY operator ./operator
COPY bots ./bots
COPY sreops ./sreops
RUN pip install --no-cache-dir -c constraints.txt .
USER 65532:65532
ENTRYPOINT ["sreops"]
CMD ["operator", "--log-format", "json"]
