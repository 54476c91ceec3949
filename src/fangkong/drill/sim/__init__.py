"""The drill's outbreak simulator (疫情模拟): a vectorised agent model of the synthetic city.

`world` turns the demo city's rows into arrays (households, work and school groups, venues, grids);
`draws` gives every random number keyed by (seed, component, person, day); `history` is the pathogen's
natural history; `engine` runs the days against a `response.Response`; `output` writes the truth files
and the scores; `run` ties them into `fangkong drill run`. Nothing here imports a capability: the
platform is reached only by a `Response`, through the interfaces real senders use.
"""
