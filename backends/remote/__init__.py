"""OpenAI-compatible servers (lmdeploy, vLLM, transformers serve, Ollama) over HTTP."""
