"""Azure public-cloud regions pros knows, with display names and the short codes used in names.

The list is checked offline so a typo fails before any Azure call. Short codes are at most four
characters so that every derived name (storage accounts: 24 characters) stays legal.
"""

from __future__ import annotations

# name: (display name, short code)
REGIONS: dict[str, tuple[str, str]] = {
    "eastus": ("East US", "eus"),
    "eastus2": ("East US 2", "eus2"),
    "westus": ("West US", "wus"),
    "westus2": ("West US 2", "wus2"),
    "westus3": ("West US 3", "wus3"),
    "centralus": ("Central US", "cus"),
    "northcentralus": ("North Central US", "ncus"),
    "southcentralus": ("South Central US", "scus"),
    "westcentralus": ("West Central US", "wcus"),
    "canadacentral": ("Canada Central", "cac"),
    "canadaeast": ("Canada East", "cae"),
    "brazilsouth": ("Brazil South", "brs"),
    "brazilsoutheast": ("Brazil Southeast", "brse"),
    "mexicocentral": ("Mexico Central", "mxc"),
    "northeurope": ("North Europe", "neu"),
    "westeurope": ("West Europe", "weu"),
    "uksouth": ("UK South", "uks"),
    "ukwest": ("UK West", "ukw"),
    "francecentral": ("France Central", "frc"),
    "francesouth": ("France South", "frs"),
    "germanywestcentral": ("Germany West Central", "gwc"),
    "germanynorth": ("Germany North", "gn"),
    "switzerlandnorth": ("Switzerland North", "szn"),
    "switzerlandwest": ("Switzerland West", "szw"),
    "norwayeast": ("Norway East", "nwe"),
    "norwaywest": ("Norway West", "nww"),
    "swedencentral": ("Sweden Central", "sdc"),
    "polandcentral": ("Poland Central", "plc"),
    "italynorth": ("Italy North", "itn"),
    "spaincentral": ("Spain Central", "spc"),
    "eastasia": ("East Asia", "ea"),
    "southeastasia": ("Southeast Asia", "sea"),
    "japaneast": ("Japan East", "jpe"),
    "japanwest": ("Japan West", "jpw"),
    "koreacentral": ("Korea Central", "krc"),
    "koreasouth": ("Korea South", "krs"),
    "centralindia": ("Central India", "inc"),
    "southindia": ("South India", "ins"),
    "westindia": ("West India", "inw"),
    "australiaeast": ("Australia East", "aue"),
    "australiasoutheast": ("Australia Southeast", "ause"),
    "australiacentral": ("Australia Central", "auc"),
    "uaenorth": ("UAE North", "uan"),
    "southafricanorth": ("South Africa North", "san"),
    "qatarcentral": ("Qatar Central", "qac"),
    "israelcentral": ("Israel Central", "ilc"),
    "newzealandnorth": ("New Zealand North", "nzn"),
}

DISPLAY_TO_NAME = {display.lower(): name for name, (display, _) in REGIONS.items()}


def normalize(region: str) -> str | None:
    """Accept 'eastus', 'East US' or 'EASTUS'; return the canonical name or None."""
    key = region.strip().lower()
    if key in REGIONS:
        return key
    return DISPLAY_TO_NAME.get(key) or (key.replace(" ", "") if key.replace(" ", "") in REGIONS else None)


def display_name(region: str) -> str:
    return REGIONS[region][0]


def short_code(region: str) -> str:
    return REGIONS[region][1]
