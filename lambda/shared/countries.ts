export type Continent =
  | 'Africa'
  | 'Antarctica'
  | 'Asia'
  | 'Europe'
  | 'North America'
  | 'Oceania'
  | 'South America';

export interface Country {
  code: string;
  name: string;
  continent: Continent;
}

const CONTINENTS: Readonly<Record<string, Continent>> = {
  AF: 'Africa',
  AN: 'Antarctica',
  AS: 'Asia',
  EU: 'Europe',
  NA: 'North America',
  OC: 'Oceania',
  SA: 'South America',
};

/**
 * One row per country: `code|name|continent|alternative;names`. Codes are ISO 3166-1 alpha-2 (all assigned
 * ones) plus XK for Kosovo. Names are the short English names monitoring vendors use; alternatives cover ISO
 * formal names and other common spellings. Accents and curly apostrophes are folded when looking names up,
 * so "Turkiye" and "Türkiye" need only one entry.
 */
const TABLE = `
AD|Andorra|EU
AE|United Arab Emirates|AS|UAE
AF|Afghanistan|AS
AG|Antigua and Barbuda|NA
AI|Anguilla|NA
AL|Albania|EU
AM|Armenia|AS
AO|Angola|AF
AQ|Antarctica|AN
AR|Argentina|SA
AS|American Samoa|OC
AT|Austria|EU
AU|Australia|OC
AW|Aruba|NA
AX|Aland Islands|EU
AZ|Azerbaijan|AS
BA|Bosnia and Herzegovina|EU|Bosnia
BB|Barbados|NA
BD|Bangladesh|AS
BE|Belgium|EU
BF|Burkina Faso|AF
BG|Bulgaria|EU
BH|Bahrain|AS
BI|Burundi|AF
BJ|Benin|AF
BL|Saint Barthelemy|NA|St Barthelemy;St. Barthelemy
BM|Bermuda|NA
BN|Brunei|AS|Brunei Darussalam
BO|Bolivia|SA|Bolivia, Plurinational State of;Plurinational State of Bolivia
BQ|Caribbean Netherlands|NA|Bonaire, Sint Eustatius and Saba;Bonaire, Saint Eustatius and Saba;Bonaire
BR|Brazil|SA
BS|Bahamas|NA|The Bahamas;Bahamas, The
BT|Bhutan|AS
BV|Bouvet Island|AN
BW|Botswana|AF
BY|Belarus|EU
BZ|Belize|NA
CA|Canada|NA
CC|Cocos Islands|AS|Cocos (Keeling) Islands;Cocos Keeling Islands;Keeling Islands
CD|Democratic Republic of the Congo|AF|DR Congo;DRC;Congo, The Democratic Republic of the;Congo, Democratic Republic of the;Congo-Kinshasa;Congo (Kinshasa);Congo, Dem. Rep.
CF|Central African Republic|AF
CG|Republic of the Congo|AF|Congo;Congo Republic;Congo-Brazzaville;Congo (Brazzaville);Congo, Republic of the;Congo, Rep.
CH|Switzerland|EU
CI|Ivory Coast|AF|Côte d'Ivoire;Cote d Ivoire
CK|Cook Islands|OC
CL|Chile|SA
CM|Cameroon|AF
CN|China|AS|People's Republic of China;PRC;Mainland China
CO|Colombia|SA
CR|Costa Rica|NA
CU|Cuba|NA
CV|Cape Verde|AF|Cabo Verde
CW|Curacao|NA|Curaçao
CX|Christmas Island|AS
CY|Cyprus|AS
CZ|Czechia|EU|Czech Republic
DE|Germany|EU|Federal Republic of Germany;Deutschland
DJ|Djibouti|AF
DK|Denmark|EU
DM|Dominica|NA
DO|Dominican Republic|NA
DZ|Algeria|AF
EC|Ecuador|SA
EE|Estonia|EU
EG|Egypt|AF
EH|Western Sahara|AF
ER|Eritrea|AF
ES|Spain|EU
ET|Ethiopia|AF
FI|Finland|EU
FJ|Fiji|OC
FK|Falkland Islands|SA|Falkland Islands (Malvinas);Malvinas
FM|Micronesia|OC|Federated States of Micronesia;Micronesia, Federated States of
FO|Faroe Islands|EU|Faroes
FR|France|EU
GA|Gabon|AF
GB|United Kingdom|EU|UK;U.K.;Great Britain;Britain;United Kingdom of Great Britain and Northern Ireland
GD|Grenada|NA
GE|Georgia|AS
GF|French Guiana|SA
GG|Guernsey|EU
GH|Ghana|AF
GI|Gibraltar|EU
GL|Greenland|NA
GM|Gambia|AF|The Gambia;Gambia, The
GN|Guinea|AF
GP|Guadeloupe|NA
GQ|Equatorial Guinea|AF
GR|Greece|EU
GS|South Georgia and the South Sandwich Islands|AN|South Georgia;South Georgia and South Sandwich Islands
GT|Guatemala|NA
GU|Guam|OC
GW|Guinea-Bissau|AF|Guinea Bissau
GY|Guyana|SA
HK|Hong Kong|AS|Hong Kong SAR;Hong Kong SAR China;Hong Kong SAR, China;Hong Kong S.A.R.;Hong Kong, China
HM|Heard Island and McDonald Islands|AN|Heard Island;Heard and McDonald Islands
HN|Honduras|NA
HR|Croatia|EU
HT|Haiti|NA
HU|Hungary|EU
ID|Indonesia|AS
IE|Ireland|EU|Republic of Ireland
IL|Israel|AS
IM|Isle of Man|EU
IN|India|AS
IO|British Indian Ocean Territory|AS
IQ|Iraq|AS
IR|Iran|AS|Iran, Islamic Republic of;Islamic Republic of Iran
IS|Iceland|EU
IT|Italy|EU
JE|Jersey|EU
JM|Jamaica|NA
JO|Jordan|AS
JP|Japan|AS
KE|Kenya|AF
KG|Kyrgyzstan|AS|Kyrgyz Republic
KH|Cambodia|AS
KI|Kiribati|OC
KM|Comoros|AF
KN|Saint Kitts and Nevis|NA|St Kitts and Nevis;St. Kitts and Nevis
KP|North Korea|AS|Korea, Democratic People's Republic of;Democratic People's Republic of Korea;DPRK
KR|South Korea|AS|Korea, Republic of;Republic of Korea;Korea;Korea, South
KW|Kuwait|AS
KY|Cayman Islands|NA
KZ|Kazakhstan|AS
LA|Laos|AS|Lao People's Democratic Republic;Lao PDR
LB|Lebanon|AS
LC|Saint Lucia|NA|St Lucia;St. Lucia
LI|Liechtenstein|EU
LK|Sri Lanka|AS
LR|Liberia|AF
LS|Lesotho|AF
LT|Lithuania|EU
LU|Luxembourg|EU
LV|Latvia|EU
LY|Libya|AF
MA|Morocco|AF
MC|Monaco|EU
MD|Moldova|EU|Moldova, Republic of;Republic of Moldova
ME|Montenegro|EU
MF|Saint Martin|NA|Saint Martin (French part);St Martin;St. Martin
MG|Madagascar|AF
MH|Marshall Islands|OC
MK|North Macedonia|EU|Macedonia;Republic of North Macedonia;Macedonia, the former Yugoslav Republic of;FYROM
ML|Mali|AF
MM|Myanmar|AS|Burma;Myanmar (Burma)
MN|Mongolia|AS
MO|Macau|AS|Macao;Macao SAR;Macau SAR;Macao SAR China;Macao SAR, China;Macau, China
MP|Northern Mariana Islands|OC
MQ|Martinique|NA
MR|Mauritania|AF
MS|Montserrat|NA
MT|Malta|EU
MU|Mauritius|AF
MV|Maldives|AS
MW|Malawi|AF
MX|Mexico|NA
MY|Malaysia|AS
MZ|Mozambique|AF
NA|Namibia|AF
NC|New Caledonia|OC
NE|Niger|AF
NF|Norfolk Island|OC
NG|Nigeria|AF
NI|Nicaragua|NA
NL|Netherlands|EU|The Netherlands;Netherlands, The;Holland;Kingdom of the Netherlands;Netherlands, Kingdom of the
NO|Norway|EU
NP|Nepal|AS
NR|Nauru|OC
NU|Niue|OC
NZ|New Zealand|OC
OM|Oman|AS
PA|Panama|NA
PE|Peru|SA
PF|French Polynesia|OC
PG|Papua New Guinea|OC
PH|Philippines|AS|The Philippines
PK|Pakistan|AS
PL|Poland|EU
PM|Saint Pierre and Miquelon|NA|St Pierre and Miquelon;St. Pierre and Miquelon
PN|Pitcairn Islands|OC|Pitcairn
PR|Puerto Rico|NA
PS|Palestine|AS|Palestine, State of;State of Palestine;Palestinian Territories;Palestinian Territory;Palestinian Territory, Occupied
PT|Portugal|EU
PW|Palau|OC
PY|Paraguay|SA
QA|Qatar|AS
RE|Reunion|AF|Réunion
RO|Romania|EU
RS|Serbia|EU
RU|Russia|EU|Russian Federation
RW|Rwanda|AF
SA|Saudi Arabia|AS
SB|Solomon Islands|OC
SC|Seychelles|AF
SD|Sudan|AF
SE|Sweden|EU
SG|Singapore|AS
SH|Saint Helena|AF|Saint Helena, Ascension and Tristan da Cunha;St Helena;St. Helena
SI|Slovenia|EU
SJ|Svalbard and Jan Mayen|EU|Svalbard
SK|Slovakia|EU|Slovak Republic
SL|Sierra Leone|AF
SM|San Marino|EU
SN|Senegal|AF
SO|Somalia|AF
SR|Suriname|SA|Surinam
SS|South Sudan|AF
ST|Sao Tome and Principe|AF|São Tomé and Príncipe
SV|El Salvador|NA
SX|Sint Maarten|NA|Sint Maarten (Dutch part)
SY|Syria|AS|Syrian Arab Republic
SZ|Eswatini|AF|Swaziland;Kingdom of Eswatini
TC|Turks and Caicos Islands|NA|Turks and Caicos
TD|Chad|AF
TF|French Southern Territories|AN|French Southern and Antarctic Lands
TG|Togo|AF
TH|Thailand|AS
TJ|Tajikistan|AS
TK|Tokelau|OC
TL|Timor-Leste|AS|East Timor;Timor Leste
TM|Turkmenistan|AS
TN|Tunisia|AF
TO|Tonga|OC
TR|Turkey|AS|Türkiye;Republic of Turkey
TT|Trinidad and Tobago|NA
TV|Tuvalu|OC
TW|Taiwan|AS|Taiwan, Province of China;Republic of China;Taiwan, China
TZ|Tanzania|AF|Tanzania, United Republic of;United Republic of Tanzania
UA|Ukraine|EU
UG|Uganda|AF
UM|United States Minor Outlying Islands|OC|U.S. Minor Outlying Islands;US Minor Outlying Islands
US|United States|NA|USA;U.S.A.;US;U.S.;United States of America
UY|Uruguay|SA
UZ|Uzbekistan|AS
VA|Vatican City|EU|Holy See;Holy See (Vatican City State);Vatican City State;Vatican
VC|Saint Vincent and the Grenadines|NA|St Vincent and the Grenadines;St. Vincent and the Grenadines;Saint Vincent and Grenadines
VE|Venezuela|SA|Venezuela, Bolivarian Republic of;Bolivarian Republic of Venezuela
VG|British Virgin Islands|NA|Virgin Islands, British;BVI
VI|US Virgin Islands|NA|U.S. Virgin Islands;United States Virgin Islands;Virgin Islands, U.S.;Virgin Islands, US
VN|Vietnam|AS|Viet Nam
VU|Vanuatu|OC
WF|Wallis and Futuna|OC|Wallis and Futuna Islands
WS|Samoa|OC
YE|Yemen|AS
YT|Mayotte|AF
ZA|South Africa|AF
ZM|Zambia|AF
ZW|Zimbabwe|AF
XK|Kosovo|EU
`;

/** Extra codes accepted by `countryByCode`, mapped to the ISO code they stand for. */
const CODE_ALIASES: Readonly<Record<string, string>> = { UK: 'GB' };

/** Lower case, accents removed, curly apostrophes straightened, whitespace trimmed and collapsed. */
function nameKey(name: string): string {
  return name
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/[\u2018\u2019\u02bc`]/g, "'")
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();
}

const byCode = new Map<string, Country>();
const byName = new Map<string, Country>();
const alternatives: [string, Country][] = [];

for (const row of TABLE.split('\n')) {
  if (row.trim() === '') continue;
  const [code = '', name = '', continentCode = '', alts = ''] = row.split('|');
  const continent = CONTINENTS[continentCode];
  if (!/^[A-Z]{2}$/.test(code) || name === '' || continent === undefined) {
    throw new Error(`countries: bad table row "${row}"`);
  }
  const country: Country = Object.freeze({ code, name, continent });
  byCode.set(code, country);
  byName.set(nameKey(name), country);
  for (const alt of alts.split(';')) if (alt !== '') alternatives.push([nameKey(alt), country]);
}
// Alternative names never shadow a country's own name.
for (const [key, country] of alternatives) if (!byName.has(key)) byName.set(key, country);
for (const [alias, code] of Object.entries(CODE_ALIASES)) {
  const country = byCode.get(code);
  if (country !== undefined) byCode.set(alias, country);
}

/** ISO 3166-1 alpha-2 code, case-insensitive ("jp" → Japan). undefined when unknown. */
export function countryByCode(code: string): Country | undefined {
  return byCode.get(code.trim().toUpperCase());
}

/** English country name, case-insensitive and ignoring surrounding spaces; also accepts common alternative names
 *  (e.g. "USA", "United States of America", "UK", "Great Britain", "Russian Federation", "Korea, Republic of",
 *  "South Korea", "Viet Nam", "Czech Republic"/"Czechia", "Türkiye"/"Turkey", "Hong Kong SAR", …). */
export function countryByName(name: string): Country | undefined {
  return byName.get(nameKey(name));
}
