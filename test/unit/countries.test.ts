import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Continent, type Country, countryByCode, countryByName } from '../../lambda/shared/countries.js';

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Every country the module knows, found by trying all two-letter codes; aliases (UK) are folded away. */
function allCountries(): Country[] {
  const found = new Map<string, Country>();
  for (const a of LETTERS) {
    for (const b of LETTERS) {
      const country = countryByCode(a + b);
      if (country !== undefined) found.set(country.code, country);
    }
  }
  return [...found.values()];
}

describe('countries', () => {
  it('covers every assigned ISO 3166-1 alpha-2 code plus Kosovo', () => {
    const countries = allCountries();
    assert.ok(countries.length >= 249, `only ${countries.length} codes`);
    for (const code of ['AD', 'AQ', 'BQ', 'CW', 'SS', 'SX', 'UM', 'ZW', 'XK']) {
      assert.equal(countryByCode(code)?.code, code, code);
    }
    assert.deepEqual(countryByCode('XK'), { code: 'XK', name: 'Kosovo', continent: 'Europe' });
  });

  it('places samples on every continent', () => {
    const samples: Record<Continent, string[]> = {
      Africa: ['EG', 'NG', 'ZA', 'KE', 'MA', 'CI', 'RE', 'YT', 'SH'],
      Antarctica: ['AQ', 'BV', 'GS', 'TF', 'HM'],
      Asia: ['JP', 'CN', 'IN', 'TR', 'CY', 'GE', 'AM', 'AZ', 'KZ', 'HK', 'TW', 'SG', 'AE', 'IL'],
      Europe: ['DE', 'FR', 'GB', 'RU', 'UA', 'IS', 'MK', 'MD', 'XK', 'VA'],
      'North America': ['US', 'CA', 'MX', 'GT', 'PA', 'CU', 'JM', 'PR', 'GL', 'BM', 'TT'],
      Oceania: ['AU', 'NZ', 'FJ', 'PG', 'WS', 'GU', 'PF', 'NC'],
      'South America': ['BR', 'AR', 'CL', 'CO', 'PE', 'VE', 'BO', 'GF', 'FK'],
    };
    for (const [continent, codes] of Object.entries(samples)) {
      for (const code of codes) assert.equal(countryByCode(code)?.continent, continent, code);
    }
    const continents = new Set(allCountries().map((c) => c.continent));
    assert.equal(continents.size, 7);
  });

  it('uses the short English names monitoring vendors use', () => {
    const expected: Record<string, string> = {
      US: 'United States',
      GB: 'United Kingdom',
      JP: 'Japan',
      BR: 'Brazil',
      DE: 'Germany',
      AU: 'Australia',
      RU: 'Russia',
      KR: 'South Korea',
      KP: 'North Korea',
      VN: 'Vietnam',
      CZ: 'Czechia',
      TR: 'Turkey',
      HK: 'Hong Kong',
      TW: 'Taiwan',
      IR: 'Iran',
      SY: 'Syria',
      BO: 'Bolivia',
      VE: 'Venezuela',
      TZ: 'Tanzania',
      MD: 'Moldova',
      LA: 'Laos',
      MK: 'North Macedonia',
      CI: 'Ivory Coast',
    };
    for (const [code, name] of Object.entries(expected)) assert.equal(countryByCode(code)?.name, name, code);
    for (const country of allCountries()) assert.doesNotMatch(country.name, /[,()]/, country.code);
  });

  it('looks codes up case-insensitively and accepts UK for GB', () => {
    assert.equal(countryByCode('jp')?.name, 'Japan');
    assert.equal(countryByCode('Jp')?.name, 'Japan');
    assert.equal(countryByCode(' us ')?.code, 'US');
    assert.equal(countryByCode('UK')?.code, 'GB');
    assert.equal(countryByCode('uk'), countryByCode('GB'));
  });

  it('looks names up case-insensitively, ignoring surrounding spaces', () => {
    assert.equal(countryByName('japan')?.code, 'JP');
    assert.equal(countryByName('  UNITED STATES  ')?.code, 'US');
    assert.equal(countryByName('south korea')?.code, 'KR');
    assert.equal(countryByName('Bosnia  and Herzegovina')?.code, 'BA');
  });

  it('accepts common alternative names', () => {
    const aliases: Record<string, string> = {
      USA: 'US',
      'United States of America': 'US',
      UK: 'GB',
      'Great Britain': 'GB',
      'Russian Federation': 'RU',
      'Korea, Republic of': 'KR',
      'South Korea': 'KR',
      "Korea, Democratic People's Republic of": 'KP',
      'Viet Nam': 'VN',
      'Czech Republic': 'CZ',
      Czechia: 'CZ',
      Türkiye: 'TR',
      Turkiye: 'TR',
      Turkey: 'TR',
      'Hong Kong SAR': 'HK',
      'Macao SAR': 'MO',
      "Côte d'Ivoire": 'CI',
      'Côte d’Ivoire': 'CI',
      "Cote d'Ivoire": 'CI',
      'Iran, Islamic Republic of': 'IR',
      'Syrian Arab Republic': 'SY',
      'Bolivia, Plurinational State of': 'BO',
      'Venezuela, Bolivarian Republic of': 'VE',
      'Tanzania, United Republic of': 'TZ',
      'Moldova, Republic of': 'MD',
      "Lao People's Democratic Republic": 'LA',
      Macedonia: 'MK',
      'Taiwan, Province of China': 'TW',
      Burma: 'MM',
      Swaziland: 'SZ',
      'Cabo Verde': 'CV',
      'East Timor': 'TL',
      'Holy See': 'VA',
      'The Netherlands': 'NL',
      'Democratic Republic of the Congo': 'CD',
      'DR Congo': 'CD',
      Congo: 'CG',
      Réunion: 'RE',
      Curaçao: 'CW',
      'Åland Islands': 'AX',
    };
    for (const [alias, code] of Object.entries(aliases))
      assert.equal(countryByName(alias)?.code, code, alias);
  });

  it('returns undefined for unknown codes and names', () => {
    for (const code of ['', 'ZZ', 'AA', 'XX', 'USA', 'J', '12'])
      assert.equal(countryByCode(code), undefined, code);
    for (const name of ['', '   ', 'Atlantis', 'Narnia', 'Europe', 'United']) {
      assert.equal(countryByName(name), undefined, name);
    }
  });

  it('has unique names that round-trip through countryByName', () => {
    const countries = allCountries();
    const names = new Set(countries.map((c) => c.name.toLowerCase()));
    assert.equal(names.size, countries.length);
    for (const country of countries) {
      assert.equal(countryByName(country.name)?.code, country.code, country.name);
      assert.equal(countryByCode(country.code), country);
    }
  });
});
