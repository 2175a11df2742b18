"""Random ``<adjective>-<noun>`` hostnames, optionally prefixed.

The noun is at most 10 characters and the adjective at most ``14 - len(noun)``,
so the random part never exceeds 15 characters (DNS- and NetBIOS-friendly).
"""

from __future__ import annotations

import random

ADJECTIVES = """
able acid aged airy ample amber angry apt arid ashen avid awake azure bad bald
balmy bare basic bent best big bitter black bland blond blue bold bony bossy
brave brief brisk broad brown bulky busy calm candid cheap chief chilly civic
clean clear close cloudy coarse cold cool cosmic coy crisp cubic curly cute
damp dark dear deep dense dizzy dry dual dull dusty eager early easy elder
empty epic equal even exact faint fair fast fierce final firm flat fluffy
fond frank free fresh frosty full funny fuzzy giant glad glossy golden good
grand gray great green grim gusty happy hardy harsh hasty hazy heavy hidden
hollow honest huge humble husky icy ideal idle inner ionic jolly jumbo keen
kind large late lazy lean light lime livid local lofty long loud lucky lunar
mad major mellow merry mild minor misty modest moist muddy mute narrow neat
new nice nimble noble noisy odd olive open oval pale plain plump polar proud
pure quick quiet rapid rare raw ready red rich rigid ripe rosy rough round
royal rusty sad safe salty sandy scarlet sharp shiny short shy silent silky
silver simple sleek slim slow small smart smooth snowy soft solar solid sour
spare spicy stable steady steep stiff still stout sturdy sunny super sweet
swift tall tame tart thick thin tidy tiny topaz tough true twin upper urban
vast velvet violet vivid warm wary weary white wide wild windy wise witty
young zany zesty
""".split()

NOUNS = """
acorn adder alder alpaca anchor ant anvil apple apricot arch arrow aspen
atlas badger banjo barley basil beacon bear beaver beetle birch bison blade
boat bobcat bolt bongo bramble brook buffalo cabin cactus camel canal canoe
canyon cape cargo carrot cedar cello chalk cherry cider clam cliff clover
cobra comet condor coral cougar crane creek cricket crow cumin cypress daisy
delta dingo dolphin dove dragon drum dune eagle easel elk elm ember emu
falcon fennel fern ferret fig finch fjord flint fox frog gale garnet gecko
geyser ginger glacier goat goose granite grape grove gull harbor hare hawk
hazel heron hill hornet ibis iris island ivy jackal jade jaguar jasper kelp
kestrel kite koala lagoon lake lark laurel lemur lily lime linden lion lotus
lynx magpie mango maple marble marsh meadow melon mesa mink mole moose moss
moth mule newt nutmeg oak oasis ocelot olive onyx orca osprey otter owl
panda panther parrot peach pebble pecan pelican pepper perch pine plum pond
poppy prairie puffin quail quartz rabbit radish raven reef ridge river robin
rose ruby sage salmon sequoia shark shore sloth snail sparrow spruce squid
stork summit swan tapir thistle thorn tiger toad topaz trout tulip turtle
valley viper walnut walrus wasp willow wolf wombat wren yak zebra
""".split()

NOUNS = [noun for noun in NOUNS if len(noun) <= 10]


def generate(rng: random.Random | None = None, prefix: str = "") -> str:
    choice = (rng or random).choice
    noun = choice(NOUNS)
    limit = 14 - len(noun)
    adjective = choice([word for word in ADJECTIVES if len(word) <= limit])
    return f"{prefix}{adjective}-{noun}"
