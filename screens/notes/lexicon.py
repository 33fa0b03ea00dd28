"""Regular-expression building blocks shared by the target rules and value extraction.

Following Afzal et al., disease words only count when tied to lower-limb anatomy, so most
patterns are built as ANATOMY + SYMPTOM + TRIGGER with short bounded gaps (`GAP`), which never
cross a clause boundary (";" or ".").
"""

# ruff: noqa: E501  (one pattern or case per line reads better than regexes split mid-token)

from __future__ import annotations

SIDE = r"(?:left|right|bilateral(?:ly)?|both|bilat|b/l|lt\.?|rt\.?|(?-i:L|R))"

# Lower-limb sites where vascular claudication is felt.
CLAUD_SITE = (
    r"(?:calf|calves|thighs?|buttocks?|glute(?:al|us)?|hips?|legs?|lower (?:extremit(?:y|ies)|limbs?)"
    r"|(?-i:LE|BLE|LLE|RLE))"
)
FOOT_SITE = r"(?:foot|feet|forefoot|toes?|hallux|great toe|heel|midfoot|digits?|sole|instep)"
LIMB_SITE = rf"(?:{CLAUD_SITE}|{FOOT_SITE}|shins?|ankles?|knees?|malleol(?:us|ar|i))"
SWELL_SITE = (
    r"(?:legs?|calf|calves|thighs?|ankles?|shins?|feet|foot|pedal|lower[- ](?:extremit(?:y|ies)|limbs?)"
    r"|(?-i:LE|BLE|LLE|RLE))"
)
# Leg sites typical of exertional compartment syndrome.
CECS_SITE = (
    r"(?:shins?|calf|calves|lower legs?|legs?"
    r"|(?:anterior|lateral|posterior|deep posterior|anterolateral|posterolateral|posteromedial)"
    r"(?: and (?:anterior|lateral|posterior|deep posterior))?(?: compartments?| shins?| lower legs?| legs?| calf| calves))"
)
# Joints: pain there with walking is a mimic of claudication when joint cues come with it.
JOINT_SITE = r"(?:hips?|groin|knees?|ankle joint|patell\w*|tibial tubercle|kneecaps?)"

PAIN = (
    r"(?:pain(?:ful|s)?|aches?|aching|ached|cramp(?:s|ing|y|ed)?|discomfort|fatigue|tired(?:ness)?|heaviness|heavy"
    r"|tightness|tight|tighten(?:s|ed|ing)?|burning|burns?|soreness|sore|hurts?|hurting)"
)
# CECS descriptions add pressure and fullness ("a feeling of pressure in both shins").
CECS_PAIN = rf"(?:{PAIN}|pressure|fullness|numbness|paresthesias?|tingling)"
NUMBER_WORD = r"(?:\d+(?:\.\d+)?|one|two|three|four|five|six|half|a|a few|several|1/2)"
WALK = (
    r"(?:walk(?:s|ing|ed)?|ambulat(?:ion|ing|es?)|exertion(?:al)?(?! compartment)|exercise|exercising"
    r"|climbing(?: stairs| hills?)?|stairs|inclines?|uphill|hills?"
    rf"|{NUMBER_WORD}[- ](?:city )?(?:blocks?|blks?)|blocks?|blks?|yards|distance|on exertion"
    r"|\d+(?:[.,]\d+)? ?(?:(?-i:m)|meters?|metres?)\b)"
)
# Sports and training; DISTANCE words count as sport only without walking words (a "mile" walk
# is claudication, "at mile 2" of a run is CECS).
SPORT_ACTIVITY = (
    r"(?:run(?:s|ning)?|ran|jog(?:s|ging)?|sprint\w*|soccer|football|basketball|lacrosse|hockey|rugby"
    r"|tennis|volleyball|sports?|play(?:ing)?|games?|matche?s?|training|trains?|practices?|drills?"
    r"|workouts?|work-outs?|ruck(?: marche?s?)?|ruck(?:ing|s)|march(?:es|ing)?|races?|racing|marathons?"
    r"|hiking|hikes?|rehearsals?|danc(?:e|es|ing)|ballet|jump(?:s|ing)?|cycling|rowing|skating|skiing"
    r"|physical training|(?-i:PT) runs?|conditioning|laps?|track|cross[- ]country)"
)
# People described by their sport: context for routing, not a trigger in target patterns.
SPORT_PERSON = (
    r"(?:runners?|joggers?|athletes?|dancers?|players?|recruits?|soldiers?|cadets?|marathoners?|triathletes?"
    r"|midfielders?|strikers?|sprinters?|swimmers?|cyclists?|rowers?|skiers?|gymnasts?|footballers?|hurdlers?"
    r"|wrestlers?|boxers?|trainees?|marines?|infantry(?:man)?|servicem[ae]n|military)"
)
DISTANCE = r"(?:miles?|mi\b|km|kilomet(?:er|re)s?|\d+ ?k\b)"
SPORT = rf"(?:{SPORT_ACTIVITY}|{DISTANCE})"


# Within-clause gap of at most n characters.
def gap(n: int) -> str:
    """A lazy gap of up to `n` characters that never crosses a clause end."""
    return rf"[^.;:]{{0,{n}}}?"


_NEGATION_WORD = r"\b(?:without|no|not|denies|denied|free of|never|absence of)\b"


def gap_affirmed(n: int) -> str:
    """As `gap`, but never across a negation word: "walks 2 miles without calf pain" is not a
    mention with the negation inside it."""
    return rf"(?:(?!{_NEGATION_WORD})[^.;:]){{0,{n}}}?"


LOWER_ARTERY = (
    r"(?:(?:common |external |internal )?iliac(?! vein)(?: arter(?:y|ies))?|(?-i:CIA|EIA|CFA|SFA|ATA|TPT)"
    r"|(?:common |superficial )?femoral arter(?:y|ies)|superficial femoral|profunda(?: femoris)?"
    r"|popliteal(?: arter(?:y|ies))?|(?:anterior |posterior )?tibial arter(?:y|ies)"
    r"|peroneal(?: arter(?:y|ies))?|tibioperoneal trunk|aortoiliac|aorto-iliac|femoropopliteal"
    r"|fem-pop|infrapopliteal|infrainguinal|tibial vessels|runoff vessels|(?-i:DP|PT)(?: arter(?:y|ies))?"
    r"|dorsalis pedis(?: arter(?:y|ies))?)"
)
PROXIMAL_VEIN = (
    r"(?:(?:common |external |internal )?iliac veins?|iliofemoral|ilio-femoral|(?-i:CFV|LCIV|CIV|EIV|FV|SFV)"
    r"|(?:common |superficial |deep )?femoral veins?|femoral|profunda veins?|(?:left |right )?iliac)"
)
DISTAL_VEIN = (
    r"(?:popliteal(?: veins?)?|(?-i:PTV)|(?:posterior tibial|peroneal|gastrocnemius|soleal|tibial|calf)"
    r" veins?|calf)"
)
