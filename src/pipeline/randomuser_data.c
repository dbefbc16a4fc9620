/* randomuser_data.c: names, places and formats for randomuser.me's 21 nationalities. */
#include "pipeline/randomuser_int.h"

#define LIST(a)                                                                                    \
    {                                                                                              \
        a, sizeof(a) / sizeof(a[0])                                                                \
    }
#define PLACES(a) a, sizeof(a) / sizeof(a[0])

/* English-speaking countries share given names and (AU, NZ, US) family names. */
static const char *const en_male[] = {
    "James",  "John",    "Robert", "Michael", "William", "David", "Richard", "Joseph",
    "Thomas", "Charles", "Daniel", "Matthew", "Anthony", "Mark",  "Steven",  "Paul",
    "Andrew", "Joshua",  "Kevin",  "Brian",   "Ryan",    "Jacob", "Gary",    "Eric",
    "Oliver", "Jack",    "Harry",  "Noah",    "Leo",     "Ethan", "Lewis",   "Dylan"};
static const char *const en_female[] = {
    "Mary",   "Patricia", "Jennifer", "Linda",   "Elizabeth", "Barbara",   "Susan",   "Jessica",
    "Sarah",  "Karen",    "Nancy",    "Lisa",    "Betty",     "Margaret",  "Sandra",  "Ashley",
    "Emily",  "Michelle", "Amanda",   "Melissa", "Deborah",   "Stephanie", "Rebecca", "Laura",
    "Olivia", "Amelia",   "Isla",     "Ava",     "Grace",     "Chloe",     "Ella",    "Zoe"};
static const char *const en_last[] = {
    "Smith",    "Johnson",  "Williams", "Brown", "Jones",   "Miller", "Davis",  "Wilson",
    "Anderson", "Taylor",   "Thomas",   "Moore", "Jackson", "White",  "Harris", "Martin",
    "Thompson", "Robinson", "Clark",    "Lewis", "Walker",  "Young",  "Allen",  "King",
    "Wright",   "Scott",    "Green",    "Baker", "Adams",   "Nelson", "Hill",   "Campbell"};
static const char *const gb_last[] = {
    "Smith",    "Jones",  "Taylor",   "Brown",  "Williams", "Wilson",  "Johnson", "Davies",
    "Robinson", "Wright", "Thompson", "Evans",  "Walker",   "White",   "Roberts", "Green",
    "Hall",     "Wood",   "Jackson",  "Clarke", "Hughes",   "Edwards", "Turner",  "Hill",
    "Cooper",   "Ward",   "Morris",   "Moore",  "Harrison", "Watson",  "Lee",     "Bennett"};
static const char *const en_streets[] = {
    "High Street",      "Church Road",  "Station Road",   "Victoria Road", "Manchester Road",
    "Park Lane",        "London Road",  "Mill Lane",      "The Crescent",  "Queen Street",
    "King Street",      "Green Lane",   "Alexander Road", "Grove Road",    "North Road",
    "Springfield Road", "Windsor Road", "George Street",  "Richmond Road", "York Road"};
static const char *const us_streets[] = {
    "Valwood Pkwy", "Mockingbird Hill", "Pecan Acres Ln",   "Hickory Creek Dr",
    "W Sherman Dr", "Elgin St",         "Lakeview St",      "Timber Wolf Trail",
    "Depaul Dr",    "Northaven Rd",     "Rolling Green Rd", "Camden Ave",
    "Karen Dr",     "W Belt Line Rd",   "Spring Hill Rd",   "Poplar Dr",
    "Parker Rd",    "Wheeler Ridge Dr", "Royal Ln",         "Cherry St"};

static const ru_place us_places[] = {
    {"Billings", "Montana"},       {"Austin", "Texas"},           {"Seattle", "Washington"},
    {"Denver", "Colorado"},        {"Boston", "Massachusetts"},   {"Phoenix", "Arizona"},
    {"Portland", "Oregon"},        {"Columbus", "Ohio"},          {"Nashville", "Tennessee"},
    {"Atlanta", "Georgia"},        {"Chicago", "Illinois"},       {"Sacramento", "California"},
    {"Albuquerque", "New Mexico"}, {"Raleigh", "North Carolina"}, {"Omaha", "Nebraska"},
    {"Richmond", "Virginia"},      {"Madison", "Wisconsin"},      {"Tampa", "Florida"},
    {"Salt Lake City", "Utah"},    {"Buffalo", "New York"}};
static const ru_place gb_places[] = {{"London", "Greater London"},
                                     {"Birmingham", "West Midlands"},
                                     {"Manchester", "Greater Manchester"},
                                     {"Leeds", "West Yorkshire"},
                                     {"Liverpool", "Merseyside"},
                                     {"Sheffield", "South Yorkshire"},
                                     {"Bristol", "Bristol"},
                                     {"Newcastle upon Tyne", "Tyne and Wear"},
                                     {"Nottingham", "Nottinghamshire"},
                                     {"Leicester", "Leicestershire"},
                                     {"Brighton and Hove", "East Sussex"},
                                     {"Southampton", "Hampshire"},
                                     {"Oxford", "Oxfordshire"},
                                     {"Cambridge", "Cambridgeshire"},
                                     {"Norwich", "Norfolk"},
                                     {"Exeter", "Devon"},
                                     {"Cardiff", "South Glamorgan"},
                                     {"Edinburgh", "Lothian"},
                                     {"Glasgow", "Strathclyde"},
                                     {"Belfast", "County Antrim"}};
static const ru_place au_places[] = {
    {"Sydney", "New South Wales"},     {"Melbourne", "Victoria"},
    {"Brisbane", "Queensland"},        {"Perth", "Western Australia"},
    {"Adelaide", "South Australia"},   {"Hobart", "Tasmania"},
    {"Darwin", "Northern Territory"},  {"Canberra", "Australian Capital Territory"},
    {"Gold Coast", "Queensland"},      {"Newcastle", "New South Wales"},
    {"Wollongong", "New South Wales"}, {"Geelong", "Victoria"},
    {"Townsville", "Queensland"},      {"Cairns", "Queensland"},
    {"Launceston", "Tasmania"},        {"Bendigo", "Victoria"}};
static const ru_place nz_places[] = {{"Auckland", "Auckland"},
                                     {"Wellington", "Wellington"},
                                     {"Christchurch", "Canterbury"},
                                     {"Hamilton", "Waikato"},
                                     {"Tauranga", "Bay of Plenty"},
                                     {"Dunedin", "Otago"},
                                     {"Palmerston North", "Manawatu-Wanganui"},
                                     {"Napier", "Hawke's Bay"},
                                     {"Nelson", "Nelson"},
                                     {"Rotorua", "Bay of Plenty"},
                                     {"New Plymouth", "Taranaki"},
                                     {"Whangarei", "Northland"},
                                     {"Invercargill", "Southland"},
                                     {"Gisborne", "Gisborne"}};

static const char *const ca_last[] = {
    "Tremblay", "Gagnon",  "Roy",    "Côté",      "Bouchard", "Gauthier", "Morin",    "Lavoie",
    "Smith",    "Brown",   "Wilson", "Martin",    "Taylor",   "Campbell", "Anderson", "MacDonald",
    "Lee",      "Leblanc", "Fortin", "Pelletier", "Thompson", "White",    "Singh",    "Li"};
static const char *const ca_streets[] = {"King St",
                                         "Queen St",
                                         "Yonge St",
                                         "Dundas Rd",
                                         "Pine Rd",
                                         "Maple Ave",
                                         "Parliament St",
                                         "Bay Ave",
                                         "Lakeshore Rd",
                                         "Victoria Ave",
                                         "Rue Sainte-Catherine",
                                         "Rue Saint-Denis",
                                         "Brock Rd",
                                         "Oak St",
                                         "Elgin St",
                                         "Regent Ave"};
static const ru_place ca_places[] = {{"Toronto", "Ontario"},
                                     {"Montréal", "Québec"},
                                     {"Vancouver", "British Columbia"},
                                     {"Calgary", "Alberta"},
                                     {"Edmonton", "Alberta"},
                                     {"Ottawa", "Ontario"},
                                     {"Winnipeg", "Manitoba"},
                                     {"Québec City", "Québec"},
                                     {"Halifax", "Nova Scotia"},
                                     {"Regina", "Saskatchewan"},
                                     {"Saskatoon", "Saskatchewan"},
                                     {"Victoria", "British Columbia"},
                                     {"St. John's", "Newfoundland and Labrador"},
                                     {"Fredericton", "New Brunswick"},
                                     {"Charlottetown", "Prince Edward Island"},
                                     {"Whitehorse", "Yukon"}};

static const char *const ie_male[] = {"Seán",   "Liam",    "Conor",   "Cian", "Darragh", "Oisín",
                                      "Ciarán", "Patrick", "Declan",  "Eoin", "Niall",   "Fionn",
                                      "Aidan",  "Ronan",   "Cillian", "Kevin"};
static const char *const ie_female[] = {
    "Aoife", "Saoirse", "Niamh", "Ciara",   "Siobhán", "Róisín",  "Caoimhe", "Sinéad",
    "Orla",  "Clodagh", "Emer",  "Aisling", "Máire",   "Gráinne", "Emma",    "Sarah"};
static const char *const ie_last[] = {"Murphy",   "Kelly", "O'Sullivan", "Walsh",     "Smith",
                                      "O'Brien",  "Byrne", "Ryan",       "O'Connor",  "O'Neill",
                                      "O'Reilly", "Doyle", "McCarthy",   "Gallagher", "Doherty",
                                      "Kennedy",  "Lynch", "Murray",     "Quinn",     "Moore"};
static const char *const ie_streets[] = {"Main Street",    "Church Street",    "Bridge Street",
                                         "Patrick Street", "O'Connell Street", "Grafton Street",
                                         "Castle Street",  "Mill Road",        "Green Lane",
                                         "Abbey Street",   "Dame Street",      "New Street"};
static const ru_place ie_places[] = {
    {"Dublin", "Dublin"},       {"Cork", "Cork"},           {"Limerick", "Limerick"},
    {"Galway", "Galway"},       {"Waterford", "Waterford"}, {"Drogheda", "Louth"},
    {"Kilkenny", "Kilkenny"},   {"Sligo", "Sligo"},         {"Tralee", "Kerry"},
    {"Athlone", "Westmeath"},   {"Wexford", "Wexford"},     {"Ennis", "Clare"},
    {"Letterkenny", "Donegal"}, {"Navan", "Meath"}};

static const char *const br_male[] = {
    "Miguel",  "Arthur", "Davi",      "Gabriel", "Pedro", "Heitor", "Bernardo", "Lucas",
    "Matheus", "Rafael", "Guilherme", "Thiago",  "João",  "Caio",   "Vinícius", "Otávio"};
static const char *const br_female[] = {
    "Alice",   "Sophia",  "Helena", "Valentina", "Laura",   "Isabella", "Manuela", "Júlia",
    "Beatriz", "Larissa", "Camila", "Fernanda",  "Letícia", "Luana",    "Mariana", "Yasmin"};
static const char *const br_last[] = {"Silva",    "Santos",  "Oliveira", "Souza",    "Rodrigues",
                                      "Ferreira", "Alves",   "Pereira",  "Lima",     "Gomes",
                                      "Costa",    "Ribeiro", "Martins",  "Carvalho", "Almeida",
                                      "Lopes",    "Araújo",  "Barbosa"};
static const char *const br_streets[] = {
    "Rua São Paulo",  "Rua Sete de Setembro", "Avenida Brasil",     "Rua Quinze de Novembro",
    "Rua das Flores", "Rua Santa Luzia",      "Rua Tiradentes",     "Avenida Paulista",
    "Rua da Paz",     "Rua Dom Pedro II",     "Rua Rio de Janeiro", "Travessa dos Martírios"};
static const ru_place br_places[] = {{"São Paulo", "São Paulo"},
                                     {"Rio de Janeiro", "Rio de Janeiro"},
                                     {"Belo Horizonte", "Minas Gerais"},
                                     {"Salvador", "Bahia"},
                                     {"Fortaleza", "Ceará"},
                                     {"Curitiba", "Paraná"},
                                     {"Manaus", "Amazonas"},
                                     {"Recife", "Pernambuco"},
                                     {"Porto Alegre", "Rio Grande do Sul"},
                                     {"Belém", "Pará"},
                                     {"Goiânia", "Goiás"},
                                     {"Florianópolis", "Santa Catarina"},
                                     {"Natal", "Rio Grande do Norte"},
                                     {"Vitória", "Espírito Santo"},
                                     {"Campo Grande", "Mato Grosso do Sul"},
                                     {"Cuiabá", "Mato Grosso"},
                                     {"Maceió", "Alagoas"},
                                     {"Teresina", "Piauí"}};

static const char *const ch_male[] = {"Luca",    "Noah",   "Leon",    "Elias",  "Nico", "Jonas",
                                      "Marco",   "Fabian", "Reto",    "Urs",    "Beat", "Lukas",
                                      "Nicolas", "Julien", "Yannick", "Mathieu"};
static const char *const ch_female[] = {
    "Mia",    "Lara",   "Laura",   "Anna",    "Lea",     "Nina",  "Seraina", "Nadine",
    "Céline", "Sandra", "Chantal", "Martina", "Corinne", "Manon", "Noémie",  "Ursula"};
static const char *const ch_last[] = {"Müller", "Meier",     "Schmid",  "Keller",  "Weber",
                                      "Huber",  "Schneider", "Meyer",   "Steiner", "Fischer",
                                      "Gerber", "Brunner",   "Baumann", "Frei",    "Zimmermann",
                                      "Moser",  "Dubois",    "Favre",   "Rochat",  "Bonvin"};
static const char *const ch_streets[] = {
    "Bahnhofstrasse",   "Rue du Stand",       "Dorfstrasse",  "Rue de la Gare",
    "Kirchweg",         "Rue des Alpes",      "Seestrasse",   "Chemin des Vignes",
    "Schulhausstrasse", "Avenue de Beaulieu", "Rue du Bourg", "Hauptstrasse"};
static const ru_place ch_places[] = {{"Zürich", "Zürich"},
                                     {"Genève", "Genève"},
                                     {"Basel", "Basel-Stadt"},
                                     {"Lausanne", "Vaud"},
                                     {"Bern", "Bern"},
                                     {"Winterthur", "Zürich"},
                                     {"Luzern", "Luzern"},
                                     {"St. Gallen", "St. Gallen"},
                                     {"Lugano", "Ticino"},
                                     {"Biel/Bienne", "Bern"},
                                     {"Fribourg", "Fribourg"},
                                     {"Neuchâtel", "Neuchâtel"},
                                     {"Sion", "Valais"},
                                     {"Chur", "Graubünden"},
                                     {"Schaffhausen", "Schaffhausen"},
                                     {"Zug", "Zug"}};

static const char *const de_male[] = {
    "Jürgen", "Klaus", "Stefan", "Thomas", "Michael",    "Andreas", "Uwe",    "Dieter",
    "Frank",  "Jörg",  "Lukas",  "Felix",  "Maximilian", "Jan",     "Tobias", "Henrik"};
static const char *const de_female[] = {"Ursula", "Monika", "Sabine", "Petra", "Gisela", "Anja",
                                        "Katrin", "Heike",  "Julia",  "Lena",  "Leonie", "Annika",
                                        "Jana",   "Sophie", "Marie",  "Birgit"};
static const char *const de_last[] = {
    "Müller", "Schmidt",  "Schneider", "Fischer", "Weber", "Meyer", "Wagner",   "Becker",
    "Schulz", "Hoffmann", "Koch",      "Richter", "Klein", "Wolf",  "Schröder", "Neumann"};
static const char *const de_streets[] = {
    "Hauptstraße", "Bahnhofstraße", "Gartenstraße", "Schulstraße", "Dorfstraße", "Lindenstraße",
    "Kirchstraße", "Waldstraße",    "Ringstraße",   "Birkenweg",   "Mühlenweg",  "Am Sportplatz"};
static const ru_place de_places[] = {{"Berlin", "Berlin"},
                                     {"Hamburg", "Hamburg"},
                                     {"München", "Bayern"},
                                     {"Köln", "Nordrhein-Westfalen"},
                                     {"Frankfurt am Main", "Hessen"},
                                     {"Stuttgart", "Baden-Württemberg"},
                                     {"Düsseldorf", "Nordrhein-Westfalen"},
                                     {"Leipzig", "Sachsen"},
                                     {"Dresden", "Sachsen"},
                                     {"Hannover", "Niedersachsen"},
                                     {"Bremen", "Bremen"},
                                     {"Mainz", "Rheinland-Pfalz"},
                                     {"Saarbrücken", "Saarland"},
                                     {"Erfurt", "Thüringen"},
                                     {"Kiel", "Schleswig-Holstein"},
                                     {"Rostock", "Mecklenburg-Vorpommern"},
                                     {"Magdeburg", "Sachsen-Anhalt"},
                                     {"Potsdam", "Brandenburg"}};

static const char *const dk_male[] = {"William",  "Noah",   "Oscar",  "Lucas",  "Victor", "Emil",
                                      "Frederik", "Magnus", "Mads",   "Rasmus", "Anders", "Søren",
                                      "Jens",     "Niels",  "Kasper", "Mikkel"};
static const char *const dk_female[] = {
    "Emma",     "Ida",   "Freja", "Clara",  "Sofie",   "Anna", "Laura", "Mathilde",
    "Karoline", "Signe", "Mette", "Louise", "Camilla", "Line", "Maja",  "Astrid"};
static const char *const dk_last[] = {"Nielsen",    "Jensen",      "Hansen",   "Pedersen",
                                      "Andersen",   "Christensen", "Larsen",   "Sørensen",
                                      "Rasmussen",  "Jørgensen",   "Petersen", "Madsen",
                                      "Kristensen", "Olsen",       "Thomsen",  "Møller"};
static const char *const dk_streets[] = {"Vestergade", "Østergade", "Nørregade",   "Søndergade",
                                         "Kirkevej",   "Skovvej",   "Strandvejen", "Bakkevej",
                                         "Engvej",     "Møllevej",  "Tværgade",    "Lærkevej"};
static const ru_place dk_places[] = {
    {"København", "Hovedstaden"}, {"Aarhus", "Midtjylland"},  {"Odense", "Syddanmark"},
    {"Aalborg", "Nordjylland"},   {"Esbjerg", "Syddanmark"},  {"Randers", "Midtjylland"},
    {"Kolding", "Syddanmark"},    {"Horsens", "Midtjylland"}, {"Vejle", "Syddanmark"},
    {"Roskilde", "Sjælland"},     {"Herning", "Midtjylland"}, {"Næstved", "Sjælland"},
    {"Silkeborg", "Midtjylland"}, {"Hillerød", "Hovedstaden"}};

static const char *const es_male[] = {"Alejandro", "Daniel", "Pablo",  "Hugo",  "Álvaro", "Adrián",
                                      "David",     "Javier", "Sergio", "Jorge", "Mario",  "Diego",
                                      "Manuel",    "Raúl",   "Iván",   "Rubén"};
static const char *const es_female[] = {"Lucía",  "María",  "Paula",    "Laura", "Marta", "Sara",
                                        "Andrea", "Carmen", "Elena",    "Alba",  "Irene", "Nuria",
                                        "Rocío",  "Pilar",  "Cristina", "Silvia"};
static const char *const es_last[] = {"García",   "Fernández", "González",  "Rodríguez", "López",
                                      "Martínez", "Sánchez",   "Pérez",     "Gómez",     "Martín",
                                      "Jiménez",  "Ruiz",      "Hernández", "Díaz",      "Moreno",
                                      "Muñoz",    "Álvarez",   "Romero"};
static const char *const es_streets[] = {
    "Calle Mayor",          "Calle de Alcalá", "Avenida de América", "Calle del Arenal",
    "Paseo de Extremadura", "Calle de Toledo", "Avenida del Puerto", "Calle de la Luna",
    "Calle de Segovia",     "Plaza Mayor",     "Calle del Prado",    "Avenida de Andalucía"};
static const ru_place es_places[] = {{"Madrid", "Comunidad de Madrid"},
                                     {"Barcelona", "Cataluña"},
                                     {"Valencia", "Comunidad Valenciana"},
                                     {"Sevilla", "Andalucía"},
                                     {"Zaragoza", "Aragón"},
                                     {"Málaga", "Andalucía"},
                                     {"Murcia", "Región de Murcia"},
                                     {"Palma de Mallorca", "Islas Baleares"},
                                     {"Bilbao", "País Vasco"},
                                     {"Valladolid", "Castilla y León"},
                                     {"Vigo", "Galicia"},
                                     {"Oviedo", "Asturias"},
                                     {"Santander", "Cantabria"},
                                     {"Pamplona", "Navarra"},
                                     {"Logroño", "La Rioja"},
                                     {"Toledo", "Castilla-La Mancha"},
                                     {"Badajoz", "Extremadura"},
                                     {"Las Palmas de Gran Canaria", "Canarias"}};

static const char *const fi_male[] = {"Juha",  "Mikko", "Timo", "Matti", "Jari",  "Pekka",
                                      "Antti", "Ville", "Eero", "Onni",  "Elias", "Aleksi",
                                      "Veeti", "Lauri", "Niko", "Joonas"};
static const char *const fi_female[] = {"Aino",  "Eevi",    "Emma",  "Sofia", "Helmi", "Aada",
                                        "Venla", "Ella",    "Siiri", "Iida",  "Minea", "Anni",
                                        "Tiina", "Johanna", "Satu",  "Päivi"};
static const char *const fi_last[] = {"Korhonen", "Virtanen",   "Mäkinen",  "Nieminen",
                                      "Mäkelä",   "Hämäläinen", "Laine",    "Heikkinen",
                                      "Koskinen", "Järvinen",   "Lehtonen", "Lehtinen",
                                      "Saarinen", "Salminen",   "Heinonen", "Niemi"};
static const char *const fi_streets[] = {
    "Hämeenkatu",     "Mannerheimintie",    "Esplanadi",         "Aleksanterinkatu",
    "Pirkankatu",     "Tehtaankatu",        "Rautatienkatu",     "Hatanpään Valtatie",
    "Satakennankatu", "Nordenskiöldinkatu", "Pispalan Valtatie", "Verkatehtaankatu"};
static const ru_place fi_places[] = {
    {"Helsinki", "Uusimaa"},      {"Espoo", "Uusimaa"},           {"Tampere", "Pirkanmaa"},
    {"Vantaa", "Uusimaa"},        {"Oulu", "Pohjois-Pohjanmaa"},  {"Turku", "Varsinais-Suomi"},
    {"Jyväskylä", "Keski-Suomi"}, {"Lahti", "Päijät-Häme"},       {"Kuopio", "Pohjois-Savo"},
    {"Pori", "Satakunta"},        {"Joensuu", "Pohjois-Karjala"}, {"Lappeenranta", "Etelä-Karjala"},
    {"Vaasa", "Pohjanmaa"},       {"Rovaniemi", "Lappi"},         {"Seinäjoki", "Etelä-Pohjanmaa"}};

static const char *const fr_male[] = {
    "Lucas",   "Hugo",    "Louis",  "Nathan",  "Théo",   "Mathis",  "Enzo",   "Jules",
    "Gabriel", "Raphaël", "Arthur", "Clément", "Maxime", "Antoine", "Julien", "Bastien"};
static const char *const fr_female[] = {
    "Emma", "Léa",  "Chloé",   "Manon",    "Camille", "Inès",   "Jade",  "Louise",
    "Zoé",  "Lina", "Margaux", "Juliette", "Clara",   "Océane", "Élise", "Mathilde"};
static const char *const fr_last[] = {"Martin",  "Bernard",  "Dubois",   "Thomas",   "Robert",
                                      "Richard", "Petit",    "Durand",   "Leroy",    "Moreau",
                                      "Simon",   "Laurent",  "Lefebvre", "Michel",   "Garcia",
                                      "David",   "Bertrand", "Roux",     "Fontaine", "Chevalier"};
static const char *const fr_streets[] = {
    "Rue de la Paix",     "Rue Victor-Hugo", "Avenue Jean-Jaurès",      "Rue du Château",
    "Place de la Mairie", "Rue des Écoles",  "Rue de l'Église",         "Avenue de la République",
    "Rue Pasteur",        "Rue Principale",  "Boulevard de la Liberté", "Rue Saint-Georges"};
static const ru_place fr_places[] = {{"Paris", "Paris"},
                                     {"Marseille", "Bouches-du-Rhône"},
                                     {"Lyon", "Rhône"},
                                     {"Toulouse", "Haute-Garonne"},
                                     {"Nice", "Alpes-Maritimes"},
                                     {"Nantes", "Loire-Atlantique"},
                                     {"Strasbourg", "Bas-Rhin"},
                                     {"Montpellier", "Hérault"},
                                     {"Bordeaux", "Gironde"},
                                     {"Lille", "Nord"},
                                     {"Rennes", "Ille-et-Vilaine"},
                                     {"Reims", "Marne"},
                                     {"Grenoble", "Isère"},
                                     {"Dijon", "Côte-d'Or"}};

static const char *const in_male[] = {"Aarav",  "Vivaan", "Aditya", "Arjun", "Rohan",  "Rahul",
                                      "Vikram", "Sanjay", "Amit",   "Karan", "Ishaan", "Siddharth",
                                      "Pranav", "Nikhil", "Varun",  "Harsh"};
static const char *const in_female[] = {"Aanya",  "Diya",  "Ananya",  "Priya", "Saanvi", "Isha",
                                        "Kavya",  "Pooja", "Neha",    "Sneha", "Riya",   "Meera",
                                        "Anjali", "Divya", "Nandini", "Shreya"};
static const char *const in_last[] = {
    "Sharma", "Verma", "Gupta", "Singh",  "Kumar",  "Patel",    "Reddy",    "Nair", "Iyer",
    "Rao",    "Mehta", "Joshi", "Chopra", "Kapoor", "Malhotra", "Banerjee", "Das",  "Pillai"};
static const char *const in_streets[] = {
    "MG Road",      "Station Road", "Nehru Road", "Gandhi Marg",   "Park Street",    "Brigade Road",
    "Linking Road", "Anna Salai",   "Rajpath",    "Church Street", "Residency Road", "Nehru Place"};
static const ru_place in_places[] = {
    {"Mumbai", "Maharashtra"},    {"Delhi", "Delhi"},           {"Bengaluru", "Karnataka"},
    {"Hyderabad", "Telangana"},   {"Ahmedabad", "Gujarat"},     {"Chennai", "Tamil Nadu"},
    {"Kolkata", "West Bengal"},   {"Pune", "Maharashtra"},      {"Jaipur", "Rajasthan"},
    {"Lucknow", "Uttar Pradesh"}, {"Kanpur", "Uttar Pradesh"},  {"Nagpur", "Maharashtra"},
    {"Indore", "Madhya Pradesh"}, {"Bhopal", "Madhya Pradesh"}, {"Patna", "Bihar"},
    {"Kochi", "Kerala"},          {"Bhubaneswar", "Odisha"},    {"Chandigarh", "Chandigarh"}};

static const char *const ir_male[] = {
    "محمد|mohammad", "علی|ali",   "حسین|hossein", "رضا|reza",  "امیر|amir", "مهدی|mehdi",
    "آرمین|armin",   "سینا|sina", "پارسا|parsa",  "کیان|kian", "نیما|nima", "بردیا|bardia"};
static const char *const ir_female[] = {"زهرا|zahra",     "فاطمه|fatemeh",  "مریم|maryam",
                                        "سارا|sara",      "نازنین|nazanin", "یاسمن|yasaman",
                                        "ستایش|setayesh", "هستی|hasti",     "نیلوفر|niloofar",
                                        "رها|raha",       "آوا|ava",        "پریا|parya"};
static const char *const ir_last[] = {"محمدی|mohammadi", "احمدی|ahmadi",    "حسینی|hosseini",
                                      "رضایی|rezaei",    "کریمی|karimi",    "موسوی|mousavi",
                                      "جعفری|jafari",    "صادقی|sadeghi",   "رحیمی|rahimi",
                                      "نوری|nouri",      "کامرانی|kamrani", "یزدانی|yazdani"};
static const char *const ir_streets[] = {"شهید رجایی", "آزادی",  "ولیعصر",   "انقلاب",
                                         "امام خمینی", "شریعتی", "پاسداران", "دکتر فاطمی",
                                         "میرداماد",   "کارگر"};
static const ru_place ir_places[] = {
    {"تهران", "تهران"},          {"مشهد", "خراسان رضوی"}, {"اصفهان", "اصفهان"}, {"شیراز", "فارس"},
    {"تبریز", "آذربایجان شرقی"}, {"کرج", "البرز"},        {"اهواز", "خوزستان"}, {"قم", "قم"},
    {"کرمانشاه", "کرمانشاه"},    {"رشت", "گیلان"},        {"یزد", "یزد"},       {"همدان", "همدان"}};

static const char *const mx_male[] = {
    "José",     "Juan",    "Luis",     "Carlos",   "Jesús", "Miguel",  "Francisco", "Alejandro",
    "Fernando", "Ricardo", "Emiliano", "Santiago", "Mateo", "Rodrigo", "Arturo",    "Gerardo"};
static const char *const mx_female[] = {
    "Guadalupe", "María",   "Ximena",    "Valentina", "Sofía",    "Regina",  "Camila",  "Fernanda",
    "Daniela",   "Mariana", "Alejandra", "Verónica",  "Gabriela", "Adriana", "Leticia", "Rosa"};
static const char *const mx_last[] = {"Hernández", "García",    "Martínez", "López",   "González",
                                      "Pérez",     "Rodríguez", "Sánchez",  "Ramírez", "Cruz",
                                      "Flores",    "Gómez",     "Morales",  "Vázquez", "Reyes",
                                      "Jiménez",   "Torres",    "Mendoza"};
static const char *const mx_streets[] = {
    "Avenida Juárez",  "Calle Hidalgo",    "Avenida Insurgentes", "Calle Morelos",
    "Avenida Reforma", "Calle Zaragoza",   "Calle 5 de Mayo",     "Avenida Revolución",
    "Calle Allende",   "Privada Guerrero", "Cerrada Madero",      "Calle Aldama"};
static const ru_place mx_places[] = {{"Ciudad de México", "Ciudad de México"},
                                     {"Guadalajara", "Jalisco"},
                                     {"Monterrey", "Nuevo León"},
                                     {"Puebla", "Puebla"},
                                     {"Tijuana", "Baja California"},
                                     {"León", "Guanajuato"},
                                     {"Mérida", "Yucatán"},
                                     {"Querétaro", "Querétaro"},
                                     {"Oaxaca de Juárez", "Oaxaca"},
                                     {"Chihuahua", "Chihuahua"},
                                     {"Cancún", "Quintana Roo"},
                                     {"Toluca", "Estado de México"},
                                     {"Veracruz", "Veracruz"},
                                     {"Morelia", "Michoacán"},
                                     {"Hermosillo", "Sonora"},
                                     {"Culiacán", "Sinaloa"}};

static const char *const nl_male[] = {"Daan",   "Sem",    "Lucas", "Levi",  "Finn",  "Milan",
                                      "Bram",   "Thijs",  "Jesse", "Ruben", "Joris", "Pieter",
                                      "Sander", "Wouter", "Bas",   "Jeroen"};
static const char *const nl_female[] = {"Emma", "Julia", "Tess",    "Sophie", "Zoë",   "Sara",
                                        "Anna", "Noor",  "Lotte",   "Fleur",  "Femke", "Sanne",
                                        "Iris", "Eva",   "Marloes", "Anouk"};
static const char *const nl_last[] = {
    "de Jong",  "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker",
    "Janssen",  "Visser", "Smit",     "Meijer",       "de Boer",  "Mulder",
    "de Groot", "Bos",    "Vos",      "Peters",       "Hendriks", "van Leeuwen"};
static const char *const nl_streets[] = {"Kerkstraat",       "Dorpsstraat",  "Schoolstraat",
                                         "Molenweg",         "Stationsweg",  "Julianastraat",
                                         "Beatrixstraat",    "Nieuwstraat",  "Markt",
                                         "Wilhelminastraat", "Kastanjelaan", "Prinsengracht"};
static const ru_place nl_places[] = {{"Amsterdam", "Noord-Holland"}, {"Rotterdam", "Zuid-Holland"},
                                     {"Den Haag", "Zuid-Holland"},   {"Utrecht", "Utrecht"},
                                     {"Eindhoven", "Noord-Brabant"}, {"Groningen", "Groningen"},
                                     {"Tilburg", "Noord-Brabant"},   {"Almere", "Flevoland"},
                                     {"Breda", "Noord-Brabant"},     {"Nijmegen", "Gelderland"},
                                     {"Arnhem", "Gelderland"},       {"Zwolle", "Overijssel"},
                                     {"Leeuwarden", "Friesland"},    {"Maastricht", "Limburg"},
                                     {"Middelburg", "Zeeland"},      {"Assen", "Drenthe"}};

static const char *const no_male[] = {"Jakob",  "Emil",   "Noah",   "Filip",   "Oliver",   "Lukas",
                                      "Henrik", "Magnus", "Sander", "Ola",     "Kristian", "Håkon",
                                      "Eirik",  "Sindre", "Øyvind", "Torbjørn"};
static const char *const no_female[] = {"Nora",  "Emma",  "Ella",    "Maja", "Olivia", "Ingrid",
                                        "Sofie", "Leah",  "Thea",    "Ida",  "Kari",   "Ingeborg",
                                        "Marte", "Silje", "Solveig", "Åse"};
static const char *const no_last[] = {"Hansen",   "Johansen",  "Olsen",       "Larsen", "Andersen",
                                      "Pedersen", "Nilsen",    "Kristiansen", "Jensen", "Karlsen",
                                      "Johnsen",  "Pettersen", "Eriksen",     "Berg",   "Haugen",
                                      "Hagen",    "Bakken",    "Dahl"};
static const char *const no_streets[] = {
    "Storgata",     "Kirkeveien",       "Skolegata",   "Parkveien",  "Bjørnstjerne Bjørnsons gate",
    "Kongens gate", "Dronningens gate", "Strandveien", "Fjellveien", "Sjøgata",
    "Nedre gate",   "Sagveien"};
static const ru_place no_places[] = {{"Oslo", "Oslo"},
                                     {"Bergen", "Vestland"},
                                     {"Trondheim", "Trøndelag"},
                                     {"Stavanger", "Rogaland"},
                                     {"Kristiansand", "Agder"},
                                     {"Drammen", "Viken"},
                                     {"Tromsø", "Troms og Finnmark"},
                                     {"Fredrikstad", "Viken"},
                                     {"Sandnes", "Rogaland"},
                                     {"Bodø", "Nordland"},
                                     {"Ålesund", "Møre og Romsdal"},
                                     {"Tønsberg", "Vestfold og Telemark"},
                                     {"Hamar", "Innlandet"},
                                     {"Lillehammer", "Innlandet"}};

static const char *const rs_male[] = {"Luka",  "Stefan", "Nikola",  "Marko", "Lazar", "Aleksa",
                                      "Đorđe", "Miloš",  "Nemanja", "Vuk",   "Dušan", "Filip",
                                      "Uroš",  "Bogdan", "Dragan",  "Zoran"};
static const char *const rs_female[] = {
    "Milica", "Jovana",   "Ana",     "Teodora", "Jelena", "Marija", "Sara",  "Anđela",
    "Ivana",  "Katarina", "Dragana", "Snežana", "Tijana", "Nevena", "Vesna", "Mila"};
static const char *const rs_last[] = {
    "Jovanović", "Petrović",  "Nikolić", "Marković", "Đorđević", "Stojanović", "Ilić",  "Stanković",
    "Pavlović",  "Milošević", "Popović", "Đukić",    "Kostić",   "Lukić",      "Tomić", "Živković"};
static const char *const rs_streets[] = {
    "Kneza Miloša",     "Bulevar oslobođenja", "Kralja Petra", "Cara Dušana",
    "Njegoševa",        "Vojvode Stepe",       "Nemanjina",    "Karađorđeva",
    "Gavrila Principa", "Svetog Save",         "Takovska",     "Bulevar kralja Aleksandra"};
static const ru_place rs_places[] = {
    {"Beograd", "Beograd"},       {"Novi Sad", "Južnobački"},   {"Niš", "Nišavski"},
    {"Kragujevac", "Šumadijski"}, {"Subotica", "Severnobački"}, {"Zrenjanin", "Srednjebanatski"},
    {"Pančevo", "Južnobanatski"}, {"Čačak", "Moravički"},       {"Kraljevo", "Raški"},
    {"Smederevo", "Podunavski"},  {"Leskovac", "Jablanički"},   {"Valjevo", "Kolubarski"},
    {"Šabac", "Mačvanski"},       {"Užice", "Zlatiborski"}};

static const char *const tr_male[] = {"Yusuf",  "Eymen",  "Mustafa", "Ömer",   "Ali",  "Ahmet",
                                      "Mehmet", "Emir",   "Kerem",   "Burak",  "Emre", "Hakan",
                                      "Murat",  "Serkan", "Oğuz",    "İbrahim"};
static const char *const tr_female[] = {"Zeynep", "Elif", "Defne", "Asel",  "Ecrin",  "Eylül",
                                        "Azra",   "Ayşe", "Fatma", "Emine", "Hatice", "Büşra",
                                        "Selin",  "Özge", "Gül",   "Merve"};
static const char *const tr_last[] = {"Yılmaz",   "Kaya",   "Demir", "Şahin",   "Çelik",  "Yıldız",
                                      "Yıldırım", "Öztürk", "Aydın", "Özdemir", "Arslan", "Doğan",
                                      "Kılıç",    "Aslan",  "Çetin", "Kara",    "Koç",    "Kurt"};
static const char *const tr_streets[] = {
    "Atatürk Cd",         "Cumhuriyet Cd", "İstiklal Cd", "Bağdat Cd", "Fatih Sultan Mehmet Cd",
    "Mevlana Cd",         "Kushimoto Sk",  "Vatan Cd",    "İnönü Cd",  "Menderes Cd",
    "Gazi Osman Paşa Cd", "Barış Sk"};
static const ru_place tr_places[] = {
    {"İstanbul", "İstanbul"},     {"Ankara", "Ankara"},       {"İzmir", "İzmir"},
    {"Bursa", "Bursa"},           {"Antalya", "Antalya"},     {"Adana", "Adana"},
    {"Konya", "Konya"},           {"Gaziantep", "Gaziantep"}, {"Kayseri", "Kayseri"},
    {"Eskişehir", "Eskişehir"},   {"Trabzon", "Trabzon"},     {"Samsun", "Samsun"},
    {"Diyarbakır", "Diyarbakır"}, {"Erzurum", "Erzurum"},     {"Mersin", "Mersin"},
    {"Malatya", "Malatya"}};

static const char *const ua_male[] = {"Андрій",    "Олександр", "Богдан",   "Тарас",    "Ярослав",
                                      "Дмитро",    "Максим",    "Назар",    "Остап",    "Євген",
                                      "Володимир", "Юрій",      "Мирослав", "Святослав"};
static const char *const ua_female[] = {"Олена",   "Оксана",   "Ірина",    "Наталія",
                                        "Соломія", "Дарина",   "Марія",    "Ганна",
                                        "Леся",    "Христина", "Вікторія", "Мирослава"};
static const char *const ua_last[] = {
    "Шевченко", "Коваленко", "Бондаренко", "Ткаченко",   "Кравченко", "Олійник",  "Мельник",
    "Шевчук",   "Поліщук",   "Лисенко",    "Гончаренко", "Руденко",   "Савченко", "Марченко"};
static const char *const ua_streets[] = {
    "Шевченка",     "Хрещатик", "Лесі Українки", "Івана Франка", "Грушевського",
    "Сагайдачного", "Соборна",  "Садова",        "Центральна",   "Миру"};
static const ru_place ua_places[] = {
    {"Київ", "Київська"},           {"Львів", "Львівська"},         {"Харків", "Харківська"},
    {"Одеса", "Одеська"},           {"Дніпро", "Дніпропетровська"}, {"Запоріжжя", "Запорізька"},
    {"Вінниця", "Вінницька"},       {"Полтава", "Полтавська"},      {"Чернігів", "Чернігівська"},
    {"Тернопіль", "Тернопільська"}, {"Ужгород", "Закарпатська"},    {"Суми", "Сумська"}};

static const char *const au_phone[] = {"0#-####-####"};
static const char *const au_cell[] = {"04##-###-###"};
static const char *const br_phone[] = {"(##) ####-####"};
static const char *const br_cell[] = {"(##) 9####-####"};
static const char *const ca_phone[] = {"@##-@##-####"};
static const char *const ch_phone[] = {"0## ### ## ##"};
static const char *const ch_cell[] = {"07# ### ## ##"};
static const char *const de_phone[] = {"0###-#######"};
static const char *const de_cell[] = {"01##-#######"};
static const char *const dk_phone[] = {"@#######"};
static const char *const es_phone[] = {"9##-###-###"};
static const char *const es_cell[] = {"6##-###-###"};
static const char *const fi_phone[] = {"0#-###-###"};
static const char *const fi_cell[] = {"04#-###-##-##"};
static const char *const fr_phone[] = {"0@-##-##-##-##"};
static const char *const fr_cell[] = {"06-##-##-##-##", "07-##-##-##-##"};
static const char *const gb_phone[] = {"01### #####", "020 #### ####"};
static const char *const gb_cell[] = {"07### ######"};
static const char *const ie_phone[] = {"0##-###-####"};
static const char *const ie_cell[] = {"08#-###-####"};
static const char *const in_phone[] = {"@#########"};
static const char *const ir_phone[] = {"0@#-########"};
static const char *const ir_cell[] = {"09##-###-####"};
static const char *const mx_phone[] = {"(@##) ### ####"};
static const char *const nl_phone[] = {"(0###) ######"};
static const char *const nl_cell[] = {"(06) ########"};
static const char *const no_phone[] = {"@#######"};
static const char *const nz_phone[] = {"(0##)-###-####"};
static const char *const nz_cell[] = {"(02#)-###-####"};
static const char *const rs_phone[] = {"0##-####-###"};
static const char *const rs_cell[] = {"06#-####-###"};
static const char *const tr_phone[] = {"(@##)-###-####"};
static const char *const tr_cell[] = {"(5##)-###-####"};
static const char *const ua_phone[] = {"(0##) ###-##-##"};
static const char *const ua_cell[] = {"(09#) ###-##-##"};
static const char *const us_phone[] = {"(@##) @##-####"};

/* In randomuser.me's order: AU BR CA CH DE DK ES FI FR GB IE IN IR MX NL NO NZ RS TR UA US. */
const ru_nat ru_nats[] = {
    {"AU", "Australia", LIST(en_male), LIST(en_female), LIST(en_last), LIST(en_streets),
     PLACES(au_places), 200, 9999, NULL, LIST(au_phone), LIST(au_cell), "TFN", "#########"},
    {"BR", "Brazil", LIST(br_male), LIST(br_female), LIST(br_last), LIST(br_streets),
     PLACES(br_places), 10000, 99999, NULL, LIST(br_phone), LIST(br_cell), "CPF", "###.###.###-##"},
    {"CA", "Canada", LIST(en_male), LIST(en_female), LIST(ca_last), LIST(ca_streets),
     PLACES(ca_places), 0, 0, "A#A #A#", LIST(ca_phone), LIST(ca_phone), "SIN", "#########"},
    {"CH", "Switzerland", LIST(ch_male), LIST(ch_female), LIST(ch_last), LIST(ch_streets),
     PLACES(ch_places), 1000, 9999, NULL, LIST(ch_phone), LIST(ch_cell), "AVS", "756.####.####.##"},
    {"DE", "Germany", LIST(de_male), LIST(de_female), LIST(de_last), LIST(de_streets),
     PLACES(de_places), 10000, 99999, NULL, LIST(de_phone), LIST(de_cell), "SVNR", "## D A ###"},
    {"DK", "Denmark", LIST(dk_male), LIST(dk_female), LIST(dk_last), LIST(dk_streets),
     PLACES(dk_places), 1000, 9999, NULL, LIST(dk_phone), LIST(dk_phone), "CPR", "D-####"},
    {"ES", "Spain", LIST(es_male), LIST(es_female), LIST(es_last), LIST(es_streets),
     PLACES(es_places), 10000, 99999, NULL, LIST(es_phone), LIST(es_cell), "DNI", "########-L"},
    {"FI", "Finland", LIST(fi_male), LIST(fi_female), LIST(fi_last), LIST(fi_streets),
     PLACES(fi_places), 10000, 99999, NULL, LIST(fi_phone), LIST(fi_cell), "HETU", "D-###A"},
    {"FR", "France", LIST(fr_male), LIST(fr_female), LIST(fr_last), LIST(fr_streets),
     PLACES(fr_places), 10000, 99999, NULL, LIST(fr_phone), LIST(fr_cell), "INSEE",
     "@############ ##"},
    {"GB", "United Kingdom", LIST(en_male), LIST(en_female), LIST(gb_last), LIST(en_streets),
     PLACES(gb_places), 0, 0, "A## #AA", LIST(gb_phone), LIST(gb_cell), "NINO", "AA ## ## ## A"},
    {"IE", "Ireland", LIST(ie_male), LIST(ie_female), LIST(ie_last), LIST(ie_streets),
     PLACES(ie_places), 10000, 99999, NULL, LIST(ie_phone), LIST(ie_cell), "PPS", "#######A"},
    {"IN", "India", LIST(in_male), LIST(in_female), LIST(in_last), LIST(in_streets),
     PLACES(in_places), 100000, 999999, NULL, LIST(in_phone), LIST(in_phone), "UIDAI",
     "@###########"},
    {"IR", "Iran", LIST(ir_male), LIST(ir_female), LIST(ir_last), LIST(ir_streets),
     PLACES(ir_places), 10000, 99999, NULL, LIST(ir_phone), LIST(ir_cell), "", NULL},
    {"MX", "Mexico", LIST(mx_male), LIST(mx_female), LIST(mx_last), LIST(mx_streets),
     PLACES(mx_places), 10000, 99999, NULL, LIST(mx_phone), LIST(mx_phone), "NSS",
     "## ## ## #### #"},
    {"NL", "Netherlands", LIST(nl_male), LIST(nl_female), LIST(nl_last), LIST(nl_streets),
     PLACES(nl_places), 0, 0, "@### AA", LIST(nl_phone), LIST(nl_cell), "BSN", "########"},
    {"NO", "Norway", LIST(no_male), LIST(no_female), LIST(no_last), LIST(no_streets),
     PLACES(no_places), 0, 0, "####", LIST(no_phone), LIST(no_phone), "FN", "D#####"},
    {"NZ", "New Zealand", LIST(en_male), LIST(en_female), LIST(en_last), LIST(en_streets),
     PLACES(nz_places), 1000, 9999, NULL, LIST(nz_phone), LIST(nz_cell), "", NULL},
    {"RS", "Serbia", LIST(rs_male), LIST(rs_female), LIST(rs_last), LIST(rs_streets),
     PLACES(rs_places), 10000, 99999, NULL, LIST(rs_phone), LIST(rs_cell), "SID", "#########"},
    {"TR", "Turkey", LIST(tr_male), LIST(tr_female), LIST(tr_last), LIST(tr_streets),
     PLACES(tr_places), 10000, 99999, NULL, LIST(tr_phone), LIST(tr_cell), "", NULL},
    {"UA", "Ukraine", LIST(ua_male), LIST(ua_female), LIST(ua_last), LIST(ua_streets),
     PLACES(ua_places), 10000, 99999, NULL, LIST(ua_phone), LIST(ua_cell), "", NULL},
    {"US", "United States", LIST(en_male), LIST(en_female), LIST(en_last), LIST(us_streets),
     PLACES(us_places), 10000, 99999, NULL, LIST(us_phone), LIST(us_phone), "SSN", "###-##-####"},
};

/* randomuser.me draws the timezone independently of the nationality; so do we. */
const ru_tz ru_timezones[] = {
    {"-12:00", "Eniwetok, Kwajalein"},
    {"-11:00", "Midway Island, Samoa"},
    {"-10:00", "Hawaii"},
    {"-9:00", "Alaska"},
    {"-8:00", "Pacific Time (US & Canada)"},
    {"-7:00", "Mountain Time (US & Canada)"},
    {"-6:00", "Central Time (US & Canada), Mexico City"},
    {"-5:00", "Eastern Time (US & Canada), Bogota, Lima"},
    {"-4:00", "Atlantic Time (Canada), Caracas, La Paz"},
    {"-3:30", "Newfoundland"},
    {"-3:00", "Brazil, Buenos Aires, Georgetown"},
    {"-2:00", "Mid-Atlantic"},
    {"-1:00", "Azores, Cape Verde Islands"},
    {"0:00", "Western Europe Time, London, Lisbon, Casablanca"},
    {"+1:00", "Brussels, Copenhagen, Madrid, Paris"},
    {"+2:00", "Kaliningrad, South Africa"},
    {"+3:00", "Baghdad, Riyadh, Moscow, St. Petersburg"},
    {"+3:30", "Tehran"},
    {"+4:00", "Abu Dhabi, Muscat, Baku, Tbilisi"},
    {"+4:30", "Kabul"},
    {"+5:00", "Ekaterinburg, Islamabad, Karachi, Tashkent"},
    {"+5:30", "Bombay, Calcutta, Madras, New Delhi"},
    {"+5:45", "Kathmandu"},
    {"+6:00", "Almaty, Dhaka, Colombo"},
    {"+7:00", "Bangkok, Hanoi, Jakarta"},
    {"+8:00", "Beijing, Perth, Singapore, Hong Kong"},
    {"+9:00", "Tokyo, Seoul, Osaka, Sapporo, Yakutsk"},
    {"+9:30", "Adelaide, Darwin"},
    {"+10:00", "Eastern Australia, Guam, Vladivostok"},
    {"+11:00", "Magadan, Solomon Islands, New Caledonia"},
    {"+12:00", "Auckland, Wellington, Fiji, Kamchatka"},
};
const size_t ru_ntimezones = sizeof(ru_timezones) / sizeof(ru_timezones[0]);

static const char *const adjectives[] = {
    "yellow", "red",    "blue",   "green", "purple",  "orange",   "black",     "white",
    "brown",  "silver", "golden", "tiny",  "big",     "small",    "heavy",     "lazy",
    "happy",  "sad",    "angry",  "crazy", "organic", "ticklish", "beautiful", "sleepy"};
static const char *const animals[] = {
    "peacock", "koala",   "rabbit",  "bird",    "cat",     "dog",     "elephant", "fish",
    "frog",    "goose",   "gorilla", "leopard", "lion",    "ladybug", "meercat",  "monkey",
    "mouse",   "panda",   "snake",   "swan",    "tiger",   "wolf",    "zebra",    "butterfly",
    "bear",    "buffalo", "duck",    "ostrich", "penguin", "owl"};
static const char *const passwords[] = {
    "addison", "hanson",   "summer",   "dragon",  "sunshine", "shadow",  "master",   "monkey",
    "letmein", "football", "baseball", "welcome", "trustno1", "freedom", "whatever", "qazwsx",
    "michael", "jordan",   "hunter",   "ranger",  "buster",   "soccer",  "harley",   "batman",
    "andrew",  "tigger",   "charlie",  "robert",  "thomas",   "hockey",  "killer",   "george",
    "pass",    "jessica",  "pepper",   "daniel",  "access",   "123456",  "654321",   "joshua",
    "maggie",  "starwars", "silver",   "william", "dallas",   "yankees", "hello",    "amanda",
    "orange",  "biteme",   "freddy",   "ginger",  "heather",  "hammer",  "chelsea",  "matthew"};

const ru_list ru_adjectives = LIST(adjectives);
const ru_list ru_animals = LIST(animals);
const ru_list ru_passwords = LIST(passwords);
