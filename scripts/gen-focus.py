#!/usr/bin/env python3
"""Writes a deterministic FOCUS 1.0 CSV export of N rows: the benchmark
input of `dora costs import` (docs/BENCHMARKS.md, "Cost import (issue 21)").

    python3 scripts/gen-focus.py 1000000 /tmp/focus-1m.csv

The rows look like the published FOCUS sample (FOCUS-Sample-Data,
FOCUS-1.0): the 43 FOCUS 1.0 columns, times written with a space and no
zone, nulls as bare NULL, text cells quoted, tiny amounts with exponents,
Tags a JSON object on 60 % of the rows and NULL on the rest. Hourly charge
periods over September 2024. Same N, same bytes (a fixed-seed LCG).
"""

import sys

COLUMNS = [
    "AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency",
    "BillingPeriodEnd", "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription",
    "ChargeFrequency", "ChargePeriodEnd", "ChargePeriodStart", "CommitmentDiscountCategory",
    "CommitmentDiscountId", "CommitmentDiscountName", "CommitmentDiscountStatus", "CommitmentDiscountType",
    "ConsumedQuantity", "ConsumedUnit", "ContractedCost", "ContractedUnitPrice", "EffectiveCost",
    "InvoiceIssuerName", "ListCost", "ListUnitPrice", "PricingCategory", "PricingQuantity", "PricingUnit",
    "ProviderName", "PublisherName", "RegionId", "RegionName", "ResourceId", "ResourceName", "ResourceType",
    "ServiceCategory", "ServiceName", "SkuId", "SkuPriceId", "SubAccountId", "SubAccountName", "Tags",
]

SERVICES = [
    ("Amazon Simple Queue Service", "Integration", "Requests"),
    ("Elastic Load Balancing", "Networking", "LCU-Hours"),
    ("Amazon Elastic Compute Cloud", "Compute", "Hrs"),
    ("Amazon Simple Storage Service", "Storage", "GB-Mo"),
    ("Amazon Relational Database Service", "Databases", "Hrs"),
    ("AWS Lambda", "Compute", "Requests"),
]
APPS = ["checkout", "payments", "search", "catalog", "ledger", "notifications", "gateway", "reports"]
ACCOUNTS = ["Atlas Nimbus", "Zenith Eclipse", "Aurora Vale", "Cobalt Reach", "Ember Field"]


def main():
    n = int(sys.argv[1])
    out = open(sys.argv[2], "w", newline="")
    out.write(",".join(f'"{c}"' for c in COLUMNS) + "\n")
    state = 0x2545F491
    lines = []
    for i in range(n):
        state = (state * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        r = state >> 33
        service, category, unit = SERVICES[r % len(SERVICES)]
        app = APPS[(r >> 4) % len(APPS)]
        account = ACCOUNTS[(r >> 8) % len(ACCOUNTS)]
        hour = (r >> 12) % (30 * 24)
        day, h = divmod(hour, 24)
        start = f"2024-09-{day + 1:02d} {h:02d}:00:00"
        end = f"2024-09-{day + 1:02d} {h + 1:02d}:00:00" if h < 23 else (
            f"2024-09-{day + 2:02d} 00:00:00" if day < 29 else "2024-10-01 00:00:00")
        quantity = ((r >> 20) % 100000) / 1000.0
        billed = quantity * 4e-7 * (1 + (r >> 40) % 7)
        effective = billed * 0.9
        tags = "NULL" if (r >> 3) % 5 < 2 else (
            '"{""application"": ""%s"", ""environment"": ""prod"", ""business_unit"": ""BU%d""}"' % (app, (r >> 9) % 4))
        resource = f"arn:aws:{service.split()[-1].lower()}:us-west-2:{100000 + (r % 900000)}:{app}-{i % 5000}"
        row = [
            "NULL", f"{billed:.11E}" if billed < 1e-4 else f"{billed:.11f}", '"1234567890123"', '"SunBird"', '"USD"',
            '"2024-10-01 00:00:00"', '"2024-09-01 00:00:00"', '"Usage"', "NULL", f'"{service} usage"',
            '"Usage-Based"', f'"{end}"', f'"{start}"', "NULL", "NULL", "NULL", "NULL", "NULL",
            f"{quantity:.15f}", f'"{unit}"', "0.00000000000", "0.00000000000", f"{effective:.11f}",
            '"Amazon Web Services, Inc."', f"{billed:.11f}", '"0.0000004"', '"Standard"', f"{quantity:.11f}",
            f'"{unit}"', '"AWS"', '"Amazon Web Services, Inc."', '"us-west-2"', '"US West (Oregon)"',
            f'"{resource}"', f'"{app}-{i % 5000}"' if i % 3 else "NULL", "NULL", f'"{category}"', f'"{service}"',
            '"G95FST5FTYV3JSRX"', '"G95FST5FTYV3JSRX.JRTCKXETXF.VXGXCWQKTY"', f'"{51738928782 + (r >> 8) % 5}"',
            f'"{account}"', tags,
        ]
        lines.append(",".join(row))
        if len(lines) == 10000:
            out.write("\n".join(lines) + "\n")
            lines = []
    if lines:
        out.write("\n".join(lines) + "\n")
    out.close()


if __name__ == "__main__":
    main()
