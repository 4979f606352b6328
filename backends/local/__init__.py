"""Local transformers models: loading, the embedded model, KV-cache reuse."""
