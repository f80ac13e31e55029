"""Where films come from, in the words a reason uses: "Italian", "Japanese", "a 1960s film".

Catalog films carry production countries as ISO 3166-1 codes, as TMDB gives them ("IT";
"SU", "XC", "YU", "XG" for the Soviet Union, Czechoslovakia, Yugoslavia, East Germany).
A code without an adjective here gets no country in a reason.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Sequence

from services.domain import Film

COUNTRY_ADJECTIVES: dict[str, str] = {
    "AR": "Argentine", "AT": "Austrian", "AU": "Australian", "BA": "Bosnian", "BD": "Bangladeshi", "BE": "Belgian",
    "BF": "Burkinabé", "BG": "Bulgarian", "BO": "Bolivian", "BR": "Brazilian", "CA": "Canadian", "CH": "Swiss",
    "CL": "Chilean", "CM": "Cameroonian", "CN": "Chinese", "CO": "Colombian", "CU": "Cuban", "CZ": "Czech",
    "DE": "German", "DK": "Danish", "DZ": "Algerian", "EE": "Estonian", "EG": "Egyptian", "ES": "Spanish",
    "ET": "Ethiopian", "FI": "Finnish", "FR": "French", "GB": "British", "GE": "Georgian", "GR": "Greek",
    "HK": "Hong Kong", "HR": "Croatian", "HU": "Hungarian", "ID": "Indonesian", "IE": "Irish", "IL": "Israeli",
    "IN": "Indian", "IQ": "Iraqi", "IR": "Iranian", "IS": "Icelandic", "IT": "Italian", "JM": "Jamaican",
    "JP": "Japanese", "KE": "Kenyan", "KH": "Cambodian", "KR": "South Korean", "LB": "Lebanese",
    "LT": "Lithuanian", "LV": "Latvian", "MA": "Moroccan", "ML": "Malian", "MN": "Mongolian", "MX": "Mexican",
    "MY": "Malaysian", "NG": "Nigerian", "NL": "Dutch", "NO": "Norwegian", "NP": "Nepali", "NZ": "New Zealand",
    "PE": "Peruvian", "PH": "Filipino", "PK": "Pakistani", "PL": "Polish", "PS": "Palestinian",
    "PT": "Portuguese", "PR": "Puerto Rican", "RO": "Romanian", "RS": "Serbian", "RU": "Russian",
    "SA": "Saudi", "SE": "Swedish", "SG": "Singaporean", "SI": "Slovenian", "SK": "Slovak", "SN": "Senegalese",
    "SU": "Soviet", "SY": "Syrian", "TH": "Thai", "TN": "Tunisian", "TR": "Turkish", "TW": "Taiwanese",
    "UA": "Ukrainian", "US": "American", "UY": "Uruguayan", "VE": "Venezuelan", "VN": "Vietnamese",
    "XC": "Czechoslovak", "XG": "East German", "YU": "Yugoslav", "ZA": "South African",
}


def country_adjective(code: str) -> str | None:
    """"Italian" for "IT"; None for a code without one."""
    return COUNTRY_ADJECTIVES.get(code)


def decade_of(year: int | None) -> int | None:
    """1960 for 1964; None without a year."""
    return None if year is None else year // 10 * 10


def origin_text(code: str | None, decade: int | None) -> str | None:
    """"An Italian film of the 1960s", "An Italian film", "A film of the 1960s"; None when neither is known."""
    adjective = country_adjective(code) if code else None
    if adjective and decade is not None:
        return f"{_article(adjective)} {adjective} film of the {decade}s"
    if adjective:
        return f"{_article(adjective)} {adjective} film"
    return f"A film of the {decade}s" if decade is not None else None


def _article(word: str) -> str:
    return "An" if word[0] in "AEIOU" else "A"


@dataclass(frozen=True)
class OriginShares:
    """The share of a catalog's films made in each country, decade and country in a decade."""

    shares: dict

    @classmethod
    def of(cls, films: Sequence[Film]) -> OriginShares:
        counts: defaultdict[tuple, int] = defaultdict(int)
        for film in films:
            decade = decade_of(film.year)
            for country in dict.fromkeys(film.countries):
                counts[(country, None)] += 1
                if decade is not None:
                    counts[(country, decade)] += 1
            if decade is not None:
                counts[(None, decade)] += 1
        total = max(1, len(films))
        return cls({key: count / total for key, count in counts.items()})

    def share(self, key: tuple) -> float:
        return self.shares.get(key, 0.0)
