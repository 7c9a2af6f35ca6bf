"""The knowledge base: sources (files, URLs, websites, text, Q&A), their documents and chunks, and
retrieval (language-aware lexical search, optional dense vectors, fused)."""
