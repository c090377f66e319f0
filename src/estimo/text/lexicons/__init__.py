"""Per-language word lists for the description extractor (Italian, Spanish, English, Polish).

Each language module defines one :class:`~estimo.text.lexicon.Lexicon`; the words are regular
expression fragments (matched case-insensitively, on word boundaries where it matters) so a
reviewer reads the whole vocabulary of a language in one file.
"""
