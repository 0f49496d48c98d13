"""The optional language model: client, prompts, narrative."""
