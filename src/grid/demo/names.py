"""Chinese names for the demo city: streets, compounds, communities, people, phone numbers.

All names are made up from common place-name stems; any likeness to a real
street or person is chance. Every character is in GBK (the files are GBK).
"""

from __future__ import annotations

import numpy as np

__all__ = ["DISTRICT", "CITY", "STEMS", "NamePool", "person_names", "mobile_numbers"]

CITY = "江城市"
DISTRICT = "江滨演示区"

STEMS = tuple("""
花桥 幸福 胜利 建设 解放 中山 民主 友谊 和平 新华 人民 光明 团结 前进 红旗 工农 永安 长春 复兴 振兴
兴业 百步 汉兴 江城 江滨 临江 沿河 青石 柳林 桃源 杨园 梅苑 竹林 松涛 兰亭 荷塘 翠微 丹水 金桥 银桥
玉带 宝丰 常青 万松 紫阳 白沙 黄石 青山 鹦鹉 晴川 东亭 西园 南湖 北湖 三眼 四新 五里 六合 七星 八一
九万 十里 球场 大智 车站 铭新 永清 后湖 谌家 唐家 塔子 黄浦 劳动 惠济 台北 西马 同兴 兴华 永红
二七 堤角 丹桂 百花 合作 育才 长江 汉江 清江 鼓楼 钟楼 文昌 武胜 崇仁 利济 六角 宝庆 统一 友好 滨湖
水塔 南京 天津 洞庭 黎黄 咸安 胜昔 吉庆 保成 扬子 大成 云林 安静 积玉 德润 泰宁 福星 长乐 锦绣 华安
康宁 瑞祥 金鼎 银河 星光 明珠 怡和 景明 春晓 朝阳 旭日 晨光 秋实 冬青 夏荷 芳草 绿洲 青藤 枫林 樱花
海棠 紫荆 丁香 桂花 芙蓉 石榴 银杏 香樟 梧桐 杉林 栖霞 湖光 山色 望江 观澜 听涛 揽月 映月 星河 云帆
""".split())

_ROAD_SUFFIX = ("路", "街", "大街", "一路", "二路", "三路", "东路", "西路", "南路", "北路", "横路", "直街", "后街", "前街")
_COMPOUND_SUFFIX = ("花园", "苑", "小区", "家园", "新村", "公寓", "华府", "雅居", "名邸", "佳园", "嘉园", "府")
_OLD_COMPOUND_SUFFIX = ("厂宿舍", "局宿舍", "新村", "小区", "大院")
_COMMUNITY_SUFFIX = ("", "里", "苑", "村", "园", "坊", "新村", "花园")
_ROAD_KINDS = {"avenue": ("大道",), "road": _ROAD_SUFFIX,
               "arterial": ("路", "大街", "一路", "二路", "东路", "西路", "南路", "北路"), "lane": ("巷", "里", "一巷", "二巷", "三巷"),
               "bridge": ("大桥",)}

_SURNAMES = tuple("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
                  "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严"
                  "覃武戴莫孔向汤涂童喻")
_GIVEN = tuple("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文斌辉鹏飞宇浩然欣怡子涵梓轩博思雨晨"
               "佳俊志海波峰春梅林云凤琴燕婷雪慧丹亮成德明永金荣新利清宏家晓力光天")
_MOBILE_PREFIXES = np.array([130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157,
                             158, 159, 166, 173, 176, 177, 180, 181, 182, 183, 185, 186, 187, 188, 189, 191, 198,
                             199], dtype=np.int64)


class NamePool:
    """Unique names: stem x suffix combinations in a seeded random order, each used once.

    When a kind runs out (very large scales) the combinations come round again with a
    prefix (新, 小, 东, 西...), so names stay unique.
    """

    _PREFIXES = ("", "新", "小", "东", "西", "南", "北", "上", "下", "中")

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._queues: dict[tuple[str, ...], list[str]] = {}
        self._rounds: dict[tuple[str, ...], int] = {}

    def _draw(self, suffixes: tuple[str, ...]) -> str:
        queue = self._queues.get(suffixes)
        if not queue:
            rounds = self._rounds.get(suffixes, 0)
            prefix = self._PREFIXES[rounds % len(self._PREFIXES)] * (1 + rounds // len(self._PREFIXES))
            combos = [prefix + stem + suffix for stem in STEMS for suffix in suffixes]
            order = self._rng.permutation(len(combos))
            queue = [combos[i] for i in order[::-1]]
            self._queues[suffixes], self._rounds[suffixes] = queue, rounds + 1
        return queue.pop()

    def road(self, kind: str) -> str:
        """A street name: ``avenue`` (大道), ``arterial`` (路, 大街), ``road`` (路, 街, 横路...), ``lane`` (巷)
        or ``bridge`` (大桥)."""
        return self._draw(_ROAD_KINDS[kind])

    def compound(self, *, old: bool = False) -> str:
        """A residential compound (小区) name; ``old`` gives work-unit style names (XX厂宿舍)."""
        return self._draw(_OLD_COMPOUND_SUFFIX if old else _COMPOUND_SUFFIX)

    def community(self) -> str:
        """A community (社区) name without the 社区 suffix."""
        return self._draw(_COMMUNITY_SUFFIX)

    def subdistrict(self) -> str:
        """A sub-district (街道) name stem, unique."""
        return self._draw(("",))

    def place(self) -> str:
        """A bare place stem for facility names (may repeat)."""
        return STEMS[int(self._rng.integers(len(STEMS)))]


def person_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` fake Chinese full names (surname + one or two given characters)."""
    surname = np.array(_SURNAMES, dtype=object)[rng.integers(len(_SURNAMES), size=n)]
    given = np.array(_GIVEN, dtype=object)
    first = given[rng.integers(len(given), size=n)]
    second = np.where(rng.random(n) < 0.7, given[rng.integers(len(given), size=n)], "")
    return surname + first + second


def mobile_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` fake 11-digit mainland mobile numbers (as text)."""
    prefix = _MOBILE_PREFIXES[rng.integers(len(_MOBILE_PREFIXES), size=n)]
    rest = rng.integers(0, 100_000_000, size=n, dtype=np.int64)
    return np.char.mod("%011d", prefix * 100_000_000 + rest).astype(object)
