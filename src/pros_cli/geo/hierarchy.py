"""Traffic Manager's geographic hierarchy: the codes the Geographic routing method accepts.

Traffic Manager publishes the hierarchy at
``GET /providers/Microsoft.Network/trafficManagerGeographicHierarchies/default`` (the SDK's
``geographic_hierarchies.get_default()``; response shape: azure-rest-api-specs,
specification/trafficmanager/.../examples/GeographicHierarchy-GET-default.json: a tree of
``{"code", "name", "regions": [...]}`` rooted at ``WORLD``) and documents the same tree in
"Country/Region hierarchy used by Azure Traffic Manager for geographic traffic routing method"
(MicrosoftDocs/azure-docs, articles/traffic-manager/traffic-manager-geographic-regions.md).

pros keeps a copy of the documented tree so a mapping is checked before any request is made (a
bad mapping costs no call), and reads the live hierarchy before it changes anything, refusing a
code Azure no longer lists. The simulator serves this same tree as Azure's answer.

The documented page lists every code below; ``CG`` (Congo) is in the page's earlier revision and
is kept here. "Region of Crimea" is listed under UA without a code and is left out.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

# One line per geography: two spaces of indent per level, the code, then its name.
OUTLINE = """
WORLD World
  GEO-EU Europe
    AD Andorra
    AL Albania
    AT Austria
    AX Åland Islands
    BA Bosnia and Herzegovina
    BE Belgium
    BG Bulgaria
    BY Belarus
    CH Switzerland
    CY Cyprus
    CZ Czech Republic
    DE Germany
    DK Denmark
    EE Estonia
    ES Spain
    FI Finland
    FO Faroe Islands
    FR France
    GB United Kingdom
    GG Guernsey
    GI Gibraltar
    GR Greece
    HR Croatia
    HU Hungary
    IE Ireland
    IM Isle of Man
    IS Iceland
    IT Italy
    JE Jersey
    LI Liechtenstein
    LT Lithuania
    LU Luxembourg
    LV Latvia
    MC Monaco
    MD Moldova
    ME Montenegro
    MK North Macedonia
    MT Malta
    NL Netherlands
    NO Norway
    PL Poland
    PT Portugal
    RO Romania
    RS Serbia
    RU Russia
    SE Sweden
    SI Slovenia
    SJ Svalbard
    SK Slovakia
    SM San Marino
    UA Ukraine
    VA Vatican City
    XJ Jan Mayen
    XK Kosovo
  GEO-ME Middle East
    AE United Arab Emirates
    BH Bahrain
    IL Israel
    IQ Iraq
    IR Iran
    JO Jordan
    KW Kuwait
    LB Lebanon
    OM Oman
    PS Palestinian Authority
    QA Qatar
    SY Syria
    SA Saudi Arabia
    TR Türkiye
    YE Yemen
  GEO-NA North America / Central America / Caribbean
    AG Antigua and Barbuda
    AI Anguilla
    AW Aruba
    BB Barbados
    BL Saint Barthélemy
    BM Bermuda
    BQ Bonaire
    BS Bahamas
    BZ Belize
    CA Canada
      CA-AB Alberta
      CA-BC British Columbia
      CA-MB Manitoba
      CA-NB New Brunswick
      CA-NL Newfoundland and Labrador
      CA-NS Nova Scotia
      CA-NT Northwest Territories
      CA-NU Nunavut
      CA-ON Ontario
      CA-PE Prince Edward Island
      CA-QC Québec
      CA-SK Saskatchewan
      CA-YT Yukon Territory
    CR Costa Rica
    CU Cuba
    CW Curaçao
    DM Dominica
    DO Dominican Republic
    GD Grenada
    GL Greenland
    GP Guadeloupe
    GT Guatemala
    HN Honduras
    HT Haiti
    JM Jamaica
    KN Saint Kitts and Nevis
    KY Cayman Islands
    LC Saint Lucia
    MF Saint Martin
    MQ Martinique
    MS Montserrat
    MX Mexico
    NI Nicaragua
    PA Panama
    PM Saint Pierre and Miquelon
    PR Puerto Rico
    SV El Salvador
    SX Sint Maarten
    TC Turks and Caicos Islands
    TT Trinidad and Tobago
    UM U.S. Outlying Islands
    US United States
      US-AK Alaska
      US-AL Alabama
      US-AR Arkansas
      US-AZ Arizona
      US-CA California
      US-CO Colorado
      US-CT Connecticut
      US-DC District of Columbia
      US-DE Delaware
      US-FL Florida
      US-GA Georgia
      US-HI Hawaii
      US-IA Iowa
      US-ID Idaho
      US-IL Illinois
      US-IN Indiana
      US-KS Kansas
      US-KY Kentucky
      US-LA Louisiana
      US-MA Massachusetts
      US-MD Maryland
      US-ME Maine
      US-MI Michigan
      US-MN Minnesota
      US-MO Missouri
      US-MS Mississippi
      US-MT Montana
      US-NC North Carolina
      US-ND North Dakota
      US-NE Nebraska
      US-NH New Hampshire
      US-NJ New Jersey
      US-NM New Mexico
      US-NV Nevada
      US-NY New York
      US-OH Ohio
      US-OK Oklahoma
      US-OR Oregon
      US-PA Pennsylvania
      US-RI Rhode Island
      US-SC South Carolina
      US-SD South Dakota
      US-TN Tennessee
      US-TX Texas
      US-UT Utah
      US-VA Virginia
      US-VT Vermont
      US-WA Washington
      US-WI Wisconsin
      US-WV West Virginia
      US-WY Wyoming
    VC Saint Vincent and the Grenadines
    VG British Virgin Islands
    VI U.S. Virgin Islands
    XE Sint Eustatius
    XS Saba
  GEO-AS Asia
    AF Afghanistan
    AM Armenia
    AZ Azerbaijan
    BD Bangladesh
    BN Brunei
    BT Bhutan
    CC Cocos (Keeling) Islands
    CN China
    CX Christmas Island
    GE Georgia
    HK Hong Kong SAR
    ID Indonesia
    IN India
    IO British Indian Ocean Territory
    JP Japan
    KG Kyrgyzstan
    KH Cambodia
    KP North Korea
    KR Korea
    KZ Kazakhstan
    LA Laos
    LK Sri Lanka
    MM Myanmar
    MN Mongolia
    MO Macao SAR
    MV Maldives
    MY Malaysia
    NP Nepal
    PH Philippines
    PK Pakistan
    SG Singapore
    TH Thailand
    TJ Tajikistan
    TL Timor_Leste
    TM Turkmenistan
    TW Taiwan
    UZ Uzbekistan
    VN Vietnam
  GEO-AF Africa
    AO Angola
    BF Burkina Faso
    BI Burundi
    BJ Benin
    BV Bouvet Island
    BW Botswana
    CD Congo (DRC)
    CF Central African Republic
    CG Congo
    CI Côte d'Ivoire
    CM Cameroon
    CV Cabo Verde
    DJ Djibouti
    DZ Algeria
    EG Egypt
    ER Eritrea
    ET Ethiopia
    GA Gabon
    GH Ghana
    GM Gambia
    GN Guinea
    GQ Equatorial Guinea
    GW Guinea_Bissau
    KE Kenya
    KM Comoros
    LR Liberia
    LS Lesotho
    LY Libya
    MA Morocco
    MG Madagascar
    ML Mali
    MR Mauritania
    MU Mauritius
    MW Malawi
    MZ Mozambique
    NA Namibia
    NE Niger
    NG Nigeria
    RE Réunion
    RW Rwanda
    SC Seychelles
    SD Sudan
    SH St Helena, Ascension, Tristan da Cunha
    SL Sierra Leone
    SN Senegal
    SO Somalia
    SS South Sudan
    ST São Tomé and Príncipe
    SZ Swaziland
    TD Chad
    TF French Southern Territories
    TG Togo
    TN Tunisia
    TZ Tanzania
    UG Uganda
    YT Mayotte
    ZA South Africa
    ZM Zambia
    ZW Zimbabwe
  GEO-AN Antarctica
    AQ Antarctica
  GEO-SA South America
    AR Argentina
    BO Bolivia
    BR Brazil
    CL Chile
    CO Colombia
    EC Ecuador
    FK Falkland Islands
    GF French Guiana
    GS South Georgia and South Sandwich Islands
    GY Guyana
    PE Peru
    PY Paraguay
    SR Suriname
    UY Uruguay
    VE Venezuela
  GEO-AP Australia / Pacific
    AS American Samoa
    AU Australia
      AU-ACT Australian Capital Territory
      AU-NSW New South Wales
      AU-NT Northern Territory
      AU-QLD Queensland
      AU-SA South Australia
      AU-TAS Tasmania
      AU-VIC Victoria
      AU-WA Western Australia
    CK Cook Islands
    FJ Fiji
    FM Micronesia
    GU Guam
    HM Heard Island and McDonald Islands
    KI Kiribati
    MH Marshall Islands
    MP Northern Mariana Islands
    NC New Caledonia
    NF Norfolk Island
    NR Nauru
    NU Niue
    NZ New Zealand
    PF French Polynesia
    PG Papua New Guinea
    PN Pitcairn Islands
    PW Palau
    SB Solomon Islands
    TK Tokelau
    TO Tonga
    TV Tuvalu
    VU Vanuatu
    WF Wallis and Futuna
    WS Samoa
"""

ROOT = "WORLD"


@cache
def tree() -> dict[str, Any]:
    """The hierarchy as Traffic Manager's REST API returns it in ``properties.geographicHierarchy``:
    ``{"code", "name", "regions": [...]}`` nodes, rooted at WORLD."""
    root: dict[str, Any] | None = None
    stack: list[tuple[int, dict[str, Any]]] = []
    for line in OUTLINE.splitlines():
        if not line.strip():
            continue
        depth = (len(line) - len(line.lstrip(" "))) // 2
        code, _, name = line.strip().partition(" ")
        node: dict[str, Any] = {"code": code, "name": name, "regions": []}
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            stack[-1][1]["regions"].append(node)
        else:
            root = node
        stack.append((depth, node))
    assert root is not None and root["code"] == ROOT
    return root


def codes_of(node: dict[str, Any] | None) -> dict[str, str | None]:
    """Every code in a hierarchy tree (REST shape) and its parent's code (None for the root)."""
    out: dict[str, str | None] = {}
    pending: list[tuple[dict[str, Any], str | None]] = [(node, None)] if node else []
    while pending:
        current, parent = pending.pop()
        code = str(current.get("code") or "")
        if code:
            out[code.upper()] = parent
        for child in current.get("regions") or ():
            pending.append((child, code.upper() or parent))
    return out


@cache
def parents() -> dict[str, str | None]:
    """Each documented code and the code of the geography it belongs to."""
    return codes_of(tree())


@cache
def names() -> dict[str, str]:
    out: dict[str, str] = {}
    pending = [tree()]
    while pending:
        node = pending.pop()
        out[node["code"]] = node["name"]
        pending.extend(node["regions"])
    return out


def name_of(code: str) -> str:
    return names().get(code.upper(), code)


def is_known(code: str) -> bool:
    return code.upper() in parents()


def rest_body() -> dict[str, Any]:
    """The whole GET answer (GeographicHierarchy-GET-default.json's shape), a fresh copy."""
    return {
        "id": "/providers/Microsoft.Network/trafficManagerGeographicHierarchies/default",
        "name": "default",
        "type": "Microsoft.Network/trafficManagerGeographicHierarchies",
        "properties": {"geographicHierarchy": copy.deepcopy(tree())},
    }
