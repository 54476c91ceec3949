"""What the synthetic city (演练城市) contains besides people: place categories and how many of each.

Each table lists, in a fixed order, a category code (stored in `Place.category`), its Chinese label,
how its members are named and how their number and capacity scale with the population.
`{stem}` is a trade-name stem, `{district}` the district's name without 区, `{city}` the city name,
`{n}` a running number inside the category.
"""

from __future__ import annotations

from dataclasses import dataclass

#: the fictional city's name, for city-wide places (stations, the airport, the prison)
CITY_NAME = "龙城"


@dataclass(frozen=True)
class EmployerCategory:
    """An employer category (单位类别), matching the key groups tested on a schedule (重点人群)."""

    code: str
    label: str
    names: tuple[str, ...]
    #: share of the employed population working in this category
    share: float
    #: typical headcount of one employer
    size: int
    #: at most this many employers of the category (None: no limit)
    limit: int | None = None


EMPLOYERS: tuple[EmployerCategory, ...] = (
    EmployerCategory("hospital", "医院", ("{city}市第{n}人民医院", "{district}人民医院", "{stem}中医医院"),
                     0.03, 600),
    EmployerCategory("fever_clinic", "发热门诊", ("{city}市第{n}人民医院发热门诊",), 0.003, 25),
    EmployerCategory("testing_lab", "核酸检测机构", ("{stem}医学检验实验室", "{district}疾病预防控制中心"),
                     0.004, 60),
    EmployerCategory("quarantine_staff", "隔离点工作专班", ("{city}市集中隔离点服务保障组{n}组",), 0.002, 40),
    EmployerCategory("port", "港口", ("{city}港{stem}码头作业区",), 0.006, 300, 4),
    EmployerCategory("cold_chain_warehouse", "冷链仓库", ("{stem}冷链物流有限公司", "{stem}冷库"), 0.004, 40),
    EmployerCategory("imported_goods", "进口冷链食品及水果经营", ("{stem}进口食品贸易有限公司", "{stem}果品批发行"),
                     0.003, 25),
    EmployerCategory("international_mail", "国际邮件快件", ("{city}国际邮件互换局", "{stem}国际快件监管中心"),
                     0.001, 40, 2),
    EmployerCategory("logistics", "货运物流", ("{stem}货运物流有限公司", "{stem}运输有限公司"), 0.015, 80),
    EmployerCategory("courier", "快递外卖", ("{stem}快递{district}分部", "{stem}外卖配送站"), 0.02, 50),
    EmployerCategory("public_transport", "公交出租", ("{city}公交集团第{n}分公司", "{stem}出租汽车有限公司"),
                     0.015, 300),
    EmployerCategory("pharmacy", "药店", ("{stem}大药房连锁有限公司",), 0.005, 20),
    EmployerCategory("supermarket", "商超", ("{stem}超市有限公司", "{stem}生活广场"), 0.02, 60),
    EmployerCategory("market", "农贸市场", ("{stem}农贸市场管理有限公司",), 0.01, 40),
    EmployerCategory("hotel", "宾馆酒店", ("{stem}大酒店", "{stem}宾馆"), 0.01, 50),
    EmployerCategory("entertainment", "娱乐场所", ("{stem}娱乐有限公司",), 0.005, 30),
    EmployerCategory("construction_site", "建筑工地", ("{stem}建设集团{district}项目部", "{stem}建工{n}号工地"),
                     0.05, 150),
    EmployerCategory("sanitation", "环卫", ("{district}环境卫生管理处", "{stem}环境服务有限公司"), 0.01, 200),
    EmployerCategory("care_home", "养老机构", ("{stem}养老院", "{district}社会福利中心"), 0.008, 40),
    EmployerCategory("prison", "监所", ("{city}监狱", "{city}市看守所"), 0.004, 300, 2),
    EmployerCategory("school", "学校", ("{stem}小学", "{stem}中学", "{stem}幼儿园", "{city}市第{n}中学"),
                     0.05, 80),
    EmployerCategory("factory", "劳动密集型企业", ("{stem}纺织有限公司", "{stem}电子有限公司",
                                                  "{stem}机械制造有限公司", "{stem}服装有限公司"), 0.25, 300),
    EmployerCategory("government", "机关事业单位", ("{district}人民政府", "{district}{n}号办公楼"), 0.05, 200),
    EmployerCategory("office", "其他企业", ("{stem}科技有限公司", "{stem}商贸有限公司", "{stem}信息技术有限公司"),
                     0.35, 60),
)


@dataclass(frozen=True)
class VenueCategory:
    """A venue category (场所码场所类别) with its density and expected daily footfall."""

    code: str
    label: str
    names: tuple[str, ...]
    #: venues per 10,000 residents
    per_10k: float
    footfall: tuple[int, int]


#: the 39 venue categories of the venue-code practice (domain.md, "Venue codes")
VENUES: tuple[VenueCategory, ...] = (
    VenueCategory("restaurant", "餐饮", ("{stem}饭店", "{stem}面馆", "{stem}火锅", "{stem}小吃"), 20, (50, 400)),
    VenueCategory("market", "农贸市场", ("{stem}农贸市场",), 0.7, (1000, 5000)),
    VenueCategory("supermarket", "超市", ("{stem}超市",), 2, (500, 3000)),
    VenueCategory("convenience_store", "便利店", ("{stem}便利店",), 5, (100, 500)),
    VenueCategory("mall", "商场", ("{stem}购物中心", "{stem}广场"), 0.3, (5000, 30000)),
    VenueCategory("hotel", "宾馆酒店", ("{stem}酒店", "{stem}快捷宾馆"), 2, (50, 400)),
    VenueCategory("school", "学校", ("{stem}小学", "{stem}中学"), 2, (300, 2000)),
    VenueCategory("kindergarten", "幼儿园", ("{stem}幼儿园",), 1.5, (100, 400)),
    VenueCategory("training_centre", "培训机构", ("{stem}培训中心",), 2, (50, 300)),
    VenueCategory("office", "写字楼", ("{stem}大厦",), 1, (500, 3000)),
    VenueCategory("government_hall", "政务服务中心", ("{district}政务服务中心",), 0.2, (300, 2000)),
    VenueCategory("bank", "银行网点", ("{stem}银行{district}支行",), 2, (100, 600)),
    VenueCategory("post_express", "邮政快递网点", ("{stem}快递驿站", "{district}邮政所"), 2, (100, 500)),
    VenueCategory("station", "公交地铁站", ("{stem}公交枢纽", "{stem}地铁站"), 0.5, (1000, 10000)),
    VenueCategory("clinic", "诊所", ("{stem}诊所", "{stem}社区卫生服务站"), 3, (30, 200)),
    VenueCategory("hospital", "医院", ("{stem}医院门诊部",), 0.3, (1000, 8000)),
    VenueCategory("pharmacy", "药店", ("{stem}大药房",), 4, (80, 400)),
    VenueCategory("gym", "健身房", ("{stem}健身中心",), 1, (100, 500)),
    VenueCategory("swimming_pool", "游泳馆", ("{stem}游泳馆",), 0.3, (200, 800)),
    VenueCategory("stadium", "体育场馆", ("{district}体育馆",), 0.1, (500, 5000)),
    VenueCategory("cinema", "电影院", ("{stem}影城",), 0.3, (300, 2000)),
    VenueCategory("theatre", "剧场", ("{stem}大剧院",), 0.1, (200, 1500)),
    VenueCategory("ktv", "KTV", ("{stem}KTV",), 0.8, (100, 600)),
    VenueCategory("bar", "酒吧", ("{stem}酒吧",), 0.8, (50, 300)),
    VenueCategory("bathhouse", "洗浴中心", ("{stem}洗浴中心",), 0.5, (100, 600)),
    VenueCategory("internet_cafe", "网吧", ("{stem}网咖",), 0.8, (80, 400)),
    VenueCategory("chess_room", "棋牌室", ("{stem}棋牌室",), 2, (20, 120)),
    VenueCategory("teahouse", "茶馆", ("{stem}茶楼",), 1, (30, 200)),
    VenueCategory("barber", "理发美容", ("{stem}理发店", "{stem}美容美发"), 6, (20, 120)),
    VenueCategory("religious", "宗教场所", ("{stem}禅寺", "{stem}基督教堂", "{stem}天主堂"), 0.3, (100, 2000)),
    VenueCategory("park", "公园", ("{stem}公园",), 0.5, (500, 5000)),
    VenueCategory("scenic_spot", "景区", ("{stem}风景区",), 0.1, (1000, 10000)),
    VenueCategory("museum", "博物馆", ("{city}博物馆", "{stem}展览馆"), 0.1, (300, 3000)),
    VenueCategory("library", "图书馆", ("{district}图书馆",), 0.2, (200, 1500)),
    VenueCategory("care_home", "养老机构", ("{stem}颐养院",), 0.5, (20, 150)),
    VenueCategory("banquet_hall", "宴会厅", ("{stem}宴会中心",), 0.5, (100, 800)),
    VenueCategory("gas_station", "加油站", ("{stem}加油站",), 1, (200, 1200)),
    VenueCategory("car_service", "汽车服务", ("{stem}汽车4S店", "{stem}汽修厂"), 1, (30, 200)),
    VenueCategory("wholesale_market", "批发市场", ("{stem}批发市场",), 0.1, (2000, 10000)),
)


@dataclass(frozen=True)
class CheckpointCategory:
    """A checkpoint category (卡口: 两站一场一码头 and highway exits)."""

    code: str
    label: str
    names: tuple[str, ...]
    #: daily vehicles or passengers inspected
    volume: tuple[int, int]


CHECKPOINTS: tuple[CheckpointCategory, ...] = (
    CheckpointCategory("highway_exit", "高速道口", ("{district}高速道口", "{stem}互通收费站"), (2000, 15000)),
    CheckpointCategory("rail_station", "火车站", ("{city}站", "{city}北站", "{district}站"), (5000, 40000)),
    CheckpointCategory("airport", "机场", ("{city}国际机场",), (3000, 20000)),
    CheckpointCategory("dock", "码头", ("{city}港客运码头", "{stem}码头"), (500, 5000)),
    CheckpointCategory("coach_station", "汽车客运站", ("{city}汽车客运总站", "{district}汽车客运站"), (1000, 8000)),
)

#: sampling point categories (采样点)
SAMPLING_POINTS: tuple[tuple[str, str, str], ...] = (
    ("community", "社区采样点", "{stem}社区核酸采样点"),
    ("convenience", "便民采样屋", "{stem}便民采样屋"),
    ("hospital", "医院采样点", "{city}市第{n}人民医院核酸采样点"),
)

#: sentinel categories (哨点)
SENTINELS: tuple[tuple[str, str, str], ...] = (
    ("fever_clinic", "发热门诊", "{city}市第{n}人民医院发热门诊"),
    ("pharmacy", "哨点药店", "{stem}大药房（哨点）"),
)

#: quarantine site category: hotels requisitioned as sites (集中隔离点)
QUARANTINE_NAMES: tuple[str, ...] = ("{stem}酒店集中隔离点", "{stem}宾馆集中隔离点", "{stem}度假村集中隔离点")
#: rooms required per 10,000 residents (domain.md) and the margin the demo city keeps above it
QUARANTINE_ROOMS_PER_10K = 20
QUARANTINE_MARGIN = 1.25
