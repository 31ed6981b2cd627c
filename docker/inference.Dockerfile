# Image for the GPU inference worker: NVIDIA's PyTorch image ships CUDA, cuDNN and TensorRT 10.
FROM nvcr.io/nvidia/pytorch:25.10-py3

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    LINKSHOT_DATA_DIR=/data LINKSHOT_MODELS_DIR=/data/models \
    DJANGO_SETTINGS_MODULE=config.settings.production
WORKDIR /app
COPY requirements.txt .
# Keep the image's CUDA build of torch: install everything else from requirements.txt.
RUN grep -v '^torch==' requirements.txt > /tmp/requirements-gpu.txt \
 && pip install --no-cache-dir -r /tmp/requirements-gpu.txt
COPY . .
CMD ["sh", "-c", "python -m inference build && celery -A config worker -Q inference --pool solo -n inference@%h --loglevel INFO"]
