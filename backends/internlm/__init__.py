"""InternLM specifics: special tokens, chat template, tokenizer, weight mapping, tool protocol."""
