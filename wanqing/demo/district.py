"""A generated district for demos: units, their staff and ~3,000 retirees with realistic Chinese data.

Pure and deterministic: the same seed gives the same district (`random.Random(seed)`, ids included). Every
person is invented; ID numbers are valid GB 11643 numbers made with `make_id_number`, never real people's.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

from contracts.id_number import make_id_number

DISTRICT_NAME = "晚晴区"

BUREAUS = (
    "区财政局", "区教育局", "区卫生健康委员会", "区人力资源和社会保障局", "区民政局", "区住房和城乡建设局",
    "区交通运输局", "区农业农村局", "区水利局", "区商务局", "区文化和旅游局", "区市场监督管理局", "区统计局",
    "区审计局", "区生态环境分局", "区自然资源分局", "区退役军人事务局", "区应急管理局", "区司法局",
    "区发展和改革委员会", "区科学技术局", "区城市管理局", "区医疗保障局", "区林业局",
)
TOWNS = ("城关镇", "青石镇", "柳河镇", "白沙镇", "金桥镇", "龙泉镇", "双河镇", "新丰镇", "石门镇", "桃源镇")
SUBDISTRICTS = ("东城街道", "西城街道", "南关街道", "北苑街道", "解放路街道", "人民路街道", "滨江街道",
                "新华街道")
ENTERPRISES = ("区城市建设投资集团有限公司", "区自来水有限公司", "区公共交通有限公司", "区粮食储备有限公司",
               "区供销合作社联合有限公司", "区热力有限公司", "区国有资产经营有限公司", "区农业发展有限公司")
# (kind, names, share of the units)
KINDS: tuple[tuple[str, tuple[str, ...], float], ...] = (
    ("bureau", BUREAUS, 0.45), ("town", TOWNS, 0.2), ("subdistrict", SUBDISTRICTS, 0.2),
    ("enterprise", ENTERPRISES, 0.15),
)
# Retirees per unit, relative: a town or an old enterprise has more than a small bureau.
KIND_WEIGHT = {"bureau": 1.0, "town": 1.6, "subdistrict": 1.2, "enterprise": 1.8}

SURNAMES = (
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高",
    "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田", "董", "袁",
    "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "任", "沈", "姚", "卢", "姜", "崔",
    "钟", "谭", "陆", "汪", "范", "金", "石", "廖", "贾", "夏", "韦", "方", "白", "邹", "孟", "熊", "秦", "邱",
)
# The most common surnames are much more common (王, 李, 张, 刘, 陈 are about a third of China).
SURNAME_WEIGHTS = tuple(max(1.0, 8.0 - i * 0.6) for i in range(len(SURNAMES)))
MALE_GIVEN = (
    "建国", "建华", "国强", "志强", "建军", "卫东", "红军", "德明", "文斌", "振华", "永强", "海涛", "立新", "建平",
    "庆华", "跃进", "国庆", "援朝", "胜利", "保国", "福生", "长顺", "树林", "宝山", "金山", "德胜", "光明", "新民",
    "学军", "卫国", "志刚", "国华", "明德", "洪涛", "玉林", "春生", "伟", "军", "勇", "强", "磊", "斌", "涛", "刚",
)
FEMALE_GIVEN = (
    "秀英", "桂英", "秀兰", "玉兰", "桂兰", "淑珍", "凤英", "玉珍", "淑英", "丽华", "秀珍", "玉梅", "美华", "桂芳",
    "红梅", "爱华", "翠花", "素芬", "慧敏", "淑华", "玉芳", "建英", "秀芳", "丽娟", "春梅", "冬梅", "金凤", "月娥",
    "玉凤", "凤兰", "敏", "静", "芳", "霞", "红", "燕", "萍", "琴",
)
# Region codes of the ID numbers (first digit 1-8): people came to the district from all over.
REGIONS = (
    "110105", "120101", "130102", "140105", "210102", "220102", "230102", "320102", "330106", "340104",
    "350102", "360102", "370102", "410105", "420106", "430102", "440106", "450102", "500103", "510104",
    "520102", "530102", "610103", "620102",
)
ROADS = ("人民路", "解放路", "建设路", "中山路", "文化路", "胜利街", "和平街", "新华路", "光明路", "幸福里",
         "朝阳路", "青年路", "育才路", "滨河路")
PHONE_PREFIXES = ("130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "155", "158",
                  "159", "176", "177", "180", "182", "186", "187", "188", "189")
RELATIONS = ("配偶", "配偶", "配偶", "子女", "子女")

PARTY_SHARE = 0.40
HIGH_RISK_SHARE = 0.10
LIVING_ALONE_SHARE = 0.08
DECEASED_SHARE = 0.03


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    kind: str
    parent: str | None = None


@dataclass(frozen=True)
class Staff:
    user: str
    name: str
    role: str  # unit_head, unit_staff, party_secretary, district_office
    unit: str
    phone: str
    email: str

    @property
    def actor(self) -> dict[str, str]:
        return {"user": self.user, "role": self.role, "unit": self.unit}


@dataclass(frozen=True)
class Survivor:
    name: str
    relation: str
    phone: str


@dataclass(frozen=True)
class Retiree:
    retiree_id: uuid.UUID
    name: str
    id_number: str
    sex: str
    birth_date: date
    unit: str
    category: str  # cadre / worker
    retirement_date: date
    phone: str
    address: str
    party_joined_on: date | None = None
    high_risk: bool = False
    living_alone: bool = False
    died_on: date | None = None
    survivor: Survivor | None = None


@dataclass
class District:
    code: str
    name: str
    today: date
    units: list[Unit]  # the district itself first
    staff: list[Staff]
    care_contacts: dict[str, str]  # unit -> user
    retirees: list[Retiree]
    _by_unit: dict[str, list[Retiree]] = field(default_factory=dict, repr=False)

    @property
    def member_units(self) -> list[Unit]:
        return [u for u in self.units if u.kind != "district"]

    def retirees_of(self, unit: str) -> list[Retiree]:
        if not self._by_unit:
            for r in self.retirees:
                self._by_unit.setdefault(r.unit, []).append(r)
        return self._by_unit.get(unit, [])

    def staff_of(self, unit: str, role: str) -> Staff:
        return next(s for s in self.staff if s.unit == unit and s.role == role)


class Names:
    """Chinese names drawn from one random stream."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def surname(self) -> str:
        return self.rng.choices(SURNAMES, SURNAME_WEIGHTS)[0]

    def person(self, sex: str) -> str:
        return self.surname() + self.rng.choice(MALE_GIVEN if sex == "male" else FEMALE_GIVEN)

    def phone(self) -> str:
        return self.rng.choice(PHONE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"

    def address(self) -> str:
        r = self.rng
        road, number, block = r.choice(ROADS), r.randrange(1, 300), r.randrange(1, 20)
        return f"{DISTRICT_NAME}{road}{number}号{block}栋{r.randrange(1, 7)}{r.randrange(1, 4):02d}室"


def _units(rng: random.Random, count: int, district: str) -> list[Unit]:
    plan: list[tuple[str, str]] = []
    for kind, names, share in KINDS:
        n = round(count * share)
        pool = list(names)
        rng.shuffle(pool)
        plan += [(kind, pool[i % len(pool)] + ("" if i < len(pool) else f"（{i // len(pool) + 1}）"))
                 for i in range(n)]
    while len(plan) < count:  # rounding: fill up with bureaus
        plan.append(("bureau", f"区直属机关{len(plan) + 1}"))
    plan = plan[:count]
    return [Unit(f"U{i:04d}", name, kind, district) for i, (kind, name) in enumerate(plan, start=1)]


def _staff(rng: random.Random, names: Names, units: list[Unit], district: str) -> list[Staff]:
    out: list[Staff] = []

    def add(user: str, role: str, unit: str) -> None:
        name = names.person(rng.choice(("male", "female")))
        out.append(Staff(user, name, role, unit, names.phone(), f"{user}@wanqing.example.cn"))

    for i in range(1, 4):
        add(f"lgj-{i:02d}", "district_office", district)  # 区老干部局 staff
    for u in units:
        base = u.code.lower()
        add(f"{base}-head", "unit_head", u.code)
        for i in range(1, rng.choice((2, 3))):
            add(f"{base}-staff{i}", "unit_staff", u.code)
        add(f"{base}-party", "party_secretary", u.code)
    return out


def _birth(rng: random.Random, today: date) -> date:
    """1930s-1960s, more of the younger years (a district's retirees are mostly in their sixties and seventies)."""
    years = list(range(1931, min(1967, today.year - 59)))
    weights = [1.0 + 0.25 * (y - 1931) for y in years]
    year = rng.choices(years, weights)[0]
    return date(year, 1, 1) + timedelta(days=rng.randrange(365))


def _anniversary(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _retiree(rng: random.Random, names: Names, unit: str, today: date, taken: set[str]) -> Retiree:
    sex = rng.choice(("male", "female"))
    birth = _birth(rng, today)
    while True:
        seq = rng.randrange(500) * 2 + (1 if sex == "male" else 0)  # odd for men, even for women
        id_number = make_id_number(rng.choice(REGIONS), birth, seq)
        if id_number not in taken:
            taken.add(id_number)
            break
    category = "cadre" if rng.random() < 0.45 else "worker"  # noqa: PLR2004
    retirement = _anniversary(birth, 60 if sex == "male" else 55)
    party = None
    if rng.random() < PARTY_SHARE:
        party = min(_anniversary(birth, rng.randrange(20, 46)) + timedelta(days=rng.randrange(365)),
                    today - timedelta(days=1))
    died_on = survivor = None
    if rng.random() < DECEASED_SHARE:
        died_on = max(retirement + timedelta(days=30), today - timedelta(days=rng.randrange(60, 1100)))
        died_on = min(died_on, today - timedelta(days=1))
        survivor_sex = "female" if sex == "male" else "male"
        survivor = Survivor(names.person(survivor_sex), rng.choice(RELATIONS), names.phone())
    return Retiree(
        retiree_id=uuid.UUID(int=rng.getrandbits(128), version=4), name=names.person(sex), id_number=id_number,
        sex=sex, birth_date=birth, unit=unit, category=category, retirement_date=retirement, phone=names.phone(),
        address=names.address(), party_joined_on=party, high_risk=rng.random() < HIGH_RISK_SHARE,
        living_alone=rng.random() < LIVING_ALONE_SHARE, died_on=died_on, survivor=survivor,
    )


def generate(seed: int = 2027, *, units: int = 30, retirees: int = 3000, district: str = "DISTRICT",
             today: date | None = None) -> District:
    """The district; `today` bounds every date (nobody retires, joins the Party or dies after it)."""
    if units < 1 or retirees < 0:
        raise ValueError("a district needs at least one unit and a non-negative number of retirees")
    today = today or date(2027, 10, 1)
    rng = random.Random(seed)  # noqa: S311 - invented demo data, not secrets
    names = Names(rng)
    member_units = _units(rng, units, district)
    staff = _staff(rng, names, member_units, district)
    contacts = {u.code: f"{u.code.lower()}-staff1" for u in member_units}
    weights = [KIND_WEIGHT[u.kind] * rng.uniform(0.7, 1.3) for u in member_units]
    taken: set[str] = set()
    people = [_retiree(rng, names, rng.choices(member_units, weights)[0].code, today, taken)
              for _ in range(retirees)]
    return District(code=district, name=DISTRICT_NAME, today=today,
                    units=[Unit(district, DISTRICT_NAME, "district"), *member_units], staff=staff,
                    care_contacts=contacts, retirees=people)


def new_person(rng: random.Random, birth: date, taken: set[str]) -> tuple[str, str, str]:
    """(name, sex, id_number) of someone about to retire, for the quarter's new retirements."""
    names = Names(rng)
    sex = "male"
    while True:
        id_number = make_id_number(rng.choice(REGIONS), birth, rng.randrange(500) * 2 + 1)
        if id_number not in taken:
            taken.add(id_number)
            return names.person(sex), sex, id_number
