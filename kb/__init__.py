"""Knowledge base: index a folder of documents and find the passages that answer a question.

Textual-free (an import-linter contract keeps it so) and independent of the backends: the
chat session and the agent get it injected. ``kb.index.KnowledgeBase`` is the entry point.
"""
