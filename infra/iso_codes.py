"""Country and language names as the film sources write them, to the codes TMDB gives for the same facts.

TMDB names a film's production countries by ISO 3166-1 code ("US", and "SU", "XC", "YU", "XG"
for the Soviet Union, Czechoslovakia, Yugoslavia and East Germany) and its original language
by ISO 639-1 code ("en"; "cn" for Cantonese). The embedded catalog uses the same codes, so a
film enriched from TMDB later and one known only offline speak of Italy the same way.
Names not listed here are left out rather than guessed.
"""
from __future__ import annotations

COUNTRY_CODES: dict[str, str] = {
    "Afghanistan": "AF", "Albania": "AL", "Algeria": "DZ", "Argentina": "AR", "Armenia": "AM", "Aruba": "AW",
    "Australia": "AU", "Austria": "AT", "Azerbaijan": "AZ", "Bahamas": "BS", "Bahrain": "BH", "Bangladesh": "BD",
    "Belgium": "BE", "Bhutan": "BT", "Bolivia": "BO", "Bosnia and Herzegovina": "BA", "Brazil": "BR",
    "Bulgaria": "BG", "Burkina Faso": "BF", "Burma": "MM", "Cambodia": "KH", "Cameroon": "CM", "Canada": "CA",
    "Chile": "CL", "China": "CN", "Colombia": "CO", "Congo": "CG", "Costa Rica": "CR", "Croatia": "HR",
    "Cuba": "CU", "Cyprus": "CY", "Czech Republic": "CZ", "Czechoslovakia": "XC",
    "Democratic Republic of the Congo": "CD", "Denmark": "DK", "Egypt": "EG", "England": "GB", "Estonia": "EE",
    "Ethiopia": "ET", "Federal Republic of Yugoslavia": "YU", "Finland": "FI", "France": "FR", "Georgia": "GE",
    "Georgian SSR": "GE", "German Democratic Republic": "XG", "Germany": "DE", "Greece": "GR", "Guinea": "GN",
    "Guinea-Bissau": "GW", "Haiti": "HT", "Hong Kong": "HK", "Hungary": "HU", "Iceland": "IS", "India": "IN",
    "Indonesia": "ID", "Iran": "IR", "Iraq": "IQ", "Iraqi Kurdistan": "IQ", "Ireland": "IE", "Isle of Man": "IM",
    "Israel": "IL", "Italy": "IT", "Jamaica": "JM", "Japan": "JP", "Jordan": "JO", "Kenya": "KE",
    "Kingdom of Great Britain": "GB", "Kingdom of Italy": "IT", "Korea": "KR", "Kuwait": "KW", "Lebanon": "LB",
    "Libya": "LY", "Lithuania": "LT", "Luxembourg": "LU", "Macau": "MO", "Malaysia": "MY", "Mali": "ML",
    "Malta": "MT", "Mandatory Palestine": "PS", "Mexico": "MX", "Monaco": "MC", "Mongolia": "MN",
    "Montenegro": "ME", "Morocco": "MA", "Nazi Germany": "DE", "Nepal": "NP", "Netherlands": "NL",
    "New Zealand": "NZ", "Nigeria": "NG", "Northern Ireland": "GB", "Norway": "NO", "Pakistan": "PK",
    "Palestinian Territories": "PS", "Palestinian territories": "PS", "Panama": "PA", "Peru": "PE",
    "Philippines": "PH", "Poland": "PL", "Portugal": "PT", "Puerto Rico": "PR", "Qatar": "QA",
    "Republic of China": "TW", "Republic of Macedonia": "MK", "Romania": "RO", "Russia": "RU", "Scotland": "GB",
    "Senegal": "SN", "Serbia": "RS", "Serbia and Montenegro": "CS", "Singapore": "SG", "Slovak Republic": "SK",
    "Slovakia": "SK", "Slovenia": "SI", "Socialist Federal Republic of Yugoslavia": "YU", "South Africa": "ZA",
    "South Korea": "KR", "Soviet Union": "SU", "Soviet occupation zone": "XG", "Spain": "ES", "Sri Lanka": "LK",
    "Sweden": "SE", "Switzerland": "CH", "Taiwan": "TW", "Thailand": "TH", "Tunisia": "TN", "Turkey": "TR",
    "Turkmenistan": "TM", "Ukraine": "UA", "Ukrainian SSR": "UA", "Ukranian SSR": "UA",
    "United Arab Emirates": "AE", "United Kingdom": "GB", "United States of America": "US", "Uruguay": "UY",
    "Uzbek SSR": "UZ", "Uzbekistan": "UZ", "Venezuela": "VE", "Vietnam": "VN", "Wales": "GB",
    "Weimar Republic": "DE", "West Germany": "DE", "Yugoslavia": "YU", "Zambia": "ZM", "Zimbabwe": "ZW",
}

# Freebase writes "Italian Language", "Telugu language" or plain "Cantonese"; the Indian films
# source writes "Tamil". Both are read case-blind with a trailing " language" dropped.
LANGUAGE_CODES: dict[str, str] = {
    "afrikaans": "af", "albanian": "sq", "american english": "en", "amharic": "am", "arabic": "ar",
    "armenian": "hy", "assamese": "as", "australian english": "en", "azerbaijani": "az", "bambara": "bm",
    "belarusian": "be", "bengali": "bn", "bosnian": "bs", "brazilian portuguese": "pt", "bulgarian": "bg",
    "burmese": "my", "cantonese": "cn", "catalan": "ca", "chechen": "ce", "chinese": "zh", "corsican": "co",
    "croatian": "hr", "czech": "cs", "danish": "da", "dutch": "nl", "dzongkha": "dz", "egyptian arabic": "ar",
    "english": "en", "esperanto": "eo", "estonian": "et", "farsi, western": "fa", "filipino": "tl",
    "finnish": "fi", "flemish": "nl", "french": "fr", "galician": "gl", "georgian": "ka", "german": "de",
    "greek": "el", "gujarati": "gu", "hausa": "ha", "hebrew": "he", "hindi": "hi", "hindustani": "hi",
    "hungarian": "hu", "icelandic": "is", "indian english": "en", "indonesian": "id", "irish": "ga",
    "italian": "it", "japanese": "ja", "kannada": "kn", "khmer": "km", "khmer, central": "km",
    "kinyarwanda": "rw", "korean": "ko", "kurdish": "ku", "latin": "la", "lithuanian": "lt",
    "luxembourgish": "lb", "macedonian": "mk", "malay": "ms", "malayalam": "ml", "mandarin chinese": "zh",
    "maori": "mi", "marathi": "mr", "mongolian": "mn", "nepali": "ne", "norwegian": "no", "oriya": "or",
    "odia": "or", "pashto": "ps", "persian": "fa", "polish": "pl", "portuguese": "pt", "punjabi": "pa",
    "quechua": "qu", "romanian": "ro", "russian": "ru", "sanskrit": "sa", "scottish gaelic": "gd",
    "serbian": "sr", "serbo-croatian": "sh", "sinhala": "si", "slovak": "sk", "slovenian": "sl",
    "somali": "so", "south african english": "en", "spanish": "es", "standard cantonese": "cn",
    "standard mandarin": "zh", "standard tibetan": "bo", "swahili": "sw", "swedish": "sv", "tagalog": "tl",
    "tamil": "ta", "telugu": "te", "thai": "th", "tibetan": "bo", "turkish": "tr", "ukrainian": "uk",
    "urdu": "ur", "uzbek": "uz", "vietnamese": "vi", "welsh": "cy", "wolof": "wo", "xhosa": "xh",
    "yiddish": "yi", "zulu": "zu",
}
# The languages a country's films are mostly made in, to tell a film's own language from the others
# Freebase lists for it (dubbed and subtitled releases) in no particular order.
COUNTRY_LANGUAGES: dict[str, frozenset[str]] = {code: frozenset(languages.split()) for code, languages in {
    "US": "en", "GB": "en", "CA": "en fr", "AU": "en", "NZ": "en", "IE": "en ga", "FR": "fr", "BE": "fr nl",
    "CH": "de fr it", "LU": "fr de lb", "IT": "it", "DE": "de", "AT": "de", "XG": "de", "ES": "es ca",
    "MX": "es", "AR": "es", "CL": "es", "CO": "es", "CU": "es", "PE": "es", "VE": "es", "UY": "es", "BO": "es",
    "PT": "pt", "BR": "pt", "NL": "nl", "SE": "sv", "NO": "no", "DK": "da", "FI": "fi", "IS": "is", "PL": "pl",
    "CZ": "cs", "SK": "sk", "XC": "cs sk", "HU": "hu", "RO": "ro", "BG": "bg", "GR": "el", "TR": "tr",
    "RU": "ru", "SU": "ru", "UA": "uk", "GE": "ka", "YU": "sr hr sh", "RS": "sr", "HR": "hr", "SI": "sl",
    "BA": "bs", "MK": "mk", "AL": "sq", "EE": "et", "LT": "lt", "IL": "he", "IR": "fa", "EG": "ar", "LB": "ar",
    "MA": "ar fr", "DZ": "ar fr", "TN": "ar fr", "IN": "hi ta te ml kn bn mr pa", "PK": "ur", "BD": "bn",
    "LK": "si ta", "NP": "ne", "JP": "ja", "KR": "ko", "CN": "zh cn", "HK": "cn zh", "TW": "zh", "TH": "th",
    "PH": "tl", "ID": "id", "MY": "ms", "VN": "vi", "KH": "km",
}.items()}
_LANGUAGE_SUFFIX = " language"


def country_code(name: str) -> str | None:
    """Return the code of a country as a source names it, or None when it is not a known country."""
    return COUNTRY_CODES.get(name.strip())


def language_code(name: str) -> str | None:
    """Return the ISO 639-1 code of a language as a source names it, or None when it is not known."""
    key = " ".join(name.replace("\u0101", "a").lower().split())
    if key.endswith(_LANGUAGE_SUFFIX):
        key = key[:-len(_LANGUAGE_SUFFIX)]
    return LANGUAGE_CODES.get(key)
