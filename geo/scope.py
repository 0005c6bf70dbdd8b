"""The scope of an account: which part of Kaili it sees, applied to every transaction.

An account's role decides its kind of scope: ``leader``, ``housing`` and
``admin`` see the whole city; ``street`` one or more street offices or
towns; ``community`` one community; ``dept`` the cases its department leads or
co-handles, and the hazards of its themes city-wide (which department has
which themes is data: ``data/reference/department-themes.csv``); ``viewer``
the whole city's figures and maps, without case text, addresses or downloads.

:meth:`Scope.apply` switches the transaction to the scope's database role
(:func:`geo.roles.scope_role`) and states its area in transaction-local
settings that the row-level security policies read, in one statement. The
database then refuses every row outside the scope, whatever a query forgets.
:meth:`Scope.key` is the text every cache and memo is keyed by, so two
accounts of different scope can never share a result.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from geo import roles

#: Chinese names of the kinds of account.
KIND_LABELS = {
    "leader": "联席会议", "housing": "住建局", "street": "街道/镇", "community": "社区",
    "dept": "职能部门", "viewer": "会议大屏", "admin": "系统管理员",
}
#: Kinds that see the whole city.
CITY_WIDE = ("leader", "housing", "admin", "viewer")


@dataclass(frozen=True)
class Scope:
    """What one account may see (and, later, do)."""

    kind: str
    streets: tuple[str, ...] = ()
    community_id: int | None = None
    dept: str | None = None
    themes: tuple[str, ...] = ()
    account: str = field(default="", compare=False)
    """The account's login name (for the audit and writes); not part of the scope's key."""

    def __post_init__(self) -> None:
        if self.kind not in roles.SCOPE_KINDS:
            raise ValueError(f"unknown kind of account {self.kind!r}")

    @classmethod
    def city(cls, kind: str = "leader", account: str = "") -> Scope:
        return cls(kind, account=account)

    @property
    def city_wide(self) -> bool:
        return self.kind in CITY_WIDE

    @property
    def every_theme(self) -> bool:
        """Whether the scope reads every case of its area, whatever the case's theme.

        False for a department: it reads the cases it leads or co-handles and every
        case of its themes, so a figure over "all disputes" would be over a part of them.
        """
        return self.kind != "dept"

    @property
    def may_download(self) -> bool:
        return self.kind != "viewer"

    @property
    def sees_case_text(self) -> bool:
        return self.kind != "viewer"

    def key(self) -> str:
        """A stable text for cache keys: the kind and the area, never the account name."""
        return "|".join([self.kind, ",".join(sorted(self.streets)),
                         "" if self.community_id is None else str(self.community_id),
                         self.dept or "", ",".join(sorted(self.themes))])

    def sees_street(self, code: str | None) -> bool:
        """Whether figures of street office ``code`` belong to this scope (pages use it)."""
        if self.kind == "street":
            return code in self.streets
        if self.kind == "community":
            return code in self.streets  # the community's own street office
        return True

    def settings(self) -> dict[str, str]:
        """The transaction-local settings the policies read."""
        return {
            "role": roles.scope_role(self.kind),
            "propmap.streets": ",".join(self.streets),
            "propmap.community": "" if self.community_id is None else str(self.community_id),
            "propmap.dept": self.dept or "",
            "propmap.themes": ",".join(self.themes),
            "propmap.account": self.account,
            "propmap.scope_key": self.key(),
        }

    def apply(self, con: sa.Connection) -> None:
        """Switch ``con``'s current transaction to this scope (one round trip)."""
        items = list(self.settings().items())
        sql = "SELECT " + ", ".join(
            f"set_config(:k{i}, :v{i}, true)" for i in range(len(items)))
        params: dict[str, str] = {}
        for i, (k, v) in enumerate(items):
            params[f"k{i}"] = k
            params[f"v{i}"] = v
        con.execute(sa.text(sql), params)

    def describe(self, street_names: dict[str, str], community_name: str | None = None,
                 dept_name: str | None = None) -> str:
        """What the scope covers, in Chinese (the page header says it)."""
        if self.kind == "street":
            return "、".join(street_names.get(s, s) for s in self.streets)
        if self.kind == "community":
            return community_name or "本社区"
        if self.kind == "dept":
            return (dept_name or self.dept or "") + "牵头或配合办理的工单" + (
                "及全市相应隐患" if self.themes else "")
        return "全市"
