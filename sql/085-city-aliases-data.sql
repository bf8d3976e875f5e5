-- belair: the other names of the cities. Re-applied on every start; the rows below are the source
-- of truth.
--
-- 1. Every name of city_name (Dutch, French, German, English) is an alias of its city.
-- 2. The former municipalities and districts a municipality is made of ("deelgemeenten",
--    Statbel's list of municipalities of 1 January 2025 with their former municipalities), at
--    least those that name Belgian measuring stations or OpenAQ localities.
-- 3. The 19 communes of the Brussels-Capital Region in French and Dutch (Brussels-Capital Region
--    ordinance of the region's institutions; the communes' official bilingual names), and the
--    parts of the City of Brussels (Laeken, Haren, Neder-Over-Heembeek): all are the city
--    Brussels.
-- A name that two municipalities share (Mariakerke is in Gent and in Oostende, Jemeppe in Seraing
-- and in Jemeppe-sur-Sambre) is no alias: station_city decides for the stations there.

SET NAMES utf8mb4;

INSERT INTO city_alias (country, alias, city)
  SELECT country, nl, city FROM city_name
  UNION SELECT country, fr, city FROM city_name
  UNION SELECT country, de, city FROM city_name
  UNION SELECT country, en, city FROM city_name
ON DUPLICATE KEY UPDATE city = VALUES(city);

INSERT INTO city_alias (country, alias, city) VALUES
  -- Antwerpen: its districts (Borsbeek since 1 January 2025) and the left bank
  ('BE', 'Berchem', 'Antwerpen'), ('BE', 'Berendrecht', 'Antwerpen'),
  ('BE', 'Berendrecht-Zandvliet-Lillo', 'Antwerpen'), ('BE', 'Borgerhout', 'Antwerpen'),
  ('BE', 'Borsbeek', 'Antwerpen'), ('BE', 'Deurne', 'Antwerpen'), ('BE', 'Ekeren', 'Antwerpen'),
  ('BE', 'Hoboken', 'Antwerpen'), ('BE', 'Lillo', 'Antwerpen'), ('BE', 'Linkeroever', 'Antwerpen'),
  ('BE', 'Merksem', 'Antwerpen'), ('BE', 'Wilrijk', 'Antwerpen'), ('BE', 'Zandvliet', 'Antwerpen'),
  -- Beveren-Kruibeke-Zwijndrecht (merged on 1 January 2025)
  ('BE', 'Bazel', 'Beveren-Kruibeke-Zwijndrecht'), ('BE', 'Beveren', 'Beveren-Kruibeke-Zwijndrecht'),
  ('BE', 'Burcht', 'Beveren-Kruibeke-Zwijndrecht'), ('BE', 'Doel', 'Beveren-Kruibeke-Zwijndrecht'),
  ('BE', 'Haasdonk', 'Beveren-Kruibeke-Zwijndrecht'), ('BE', 'Kallo', 'Beveren-Kruibeke-Zwijndrecht'),
  ('BE', 'Kieldrecht', 'Beveren-Kruibeke-Zwijndrecht'), ('BE', 'Kruibeke', 'Beveren-Kruibeke-Zwijndrecht'),
  ('BE', 'Melsele', 'Beveren-Kruibeke-Zwijndrecht'), ('BE', 'Rupelmonde', 'Beveren-Kruibeke-Zwijndrecht'),
  ('BE', 'Verrebroek', 'Beveren-Kruibeke-Zwijndrecht'), ('BE', 'Vrasene', 'Beveren-Kruibeke-Zwijndrecht'),
  ('BE', 'Zwijndrecht', 'Beveren-Kruibeke-Zwijndrecht'),
  -- Tessenderlo-Ham (merged on 1 January 2025), Lochristi (with Wachtebeke since then)
  ('BE', 'Ham', 'Tessenderlo-Ham'), ('BE', 'Tessenderlo', 'Tessenderlo-Ham'),
  ('BE', 'Wachtebeke', 'Lochristi'),
  -- Flanders
  ('BE', 'Assebroek', 'Brugge'), ('BE', 'Dudzele', 'Brugge'), ('BE', 'Lissewege', 'Brugge'),
  ('BE', 'Sint-Andries', 'Brugge'), ('BE', 'Sint-Kruis', 'Brugge'),
  ('BE', 'Sint-Michiels', 'Brugge'), ('BE', 'Zeebrugge', 'Brugge'),
  ('BE', 'Afsnee', 'Gent'), ('BE', 'Desteldonk', 'Gent'), ('BE', 'Drongen', 'Gent'),
  ('BE', 'Gentbrugge', 'Gent'), ('BE', 'Ledeberg', 'Gent'), ('BE', 'Mendonk', 'Gent'),
  ('BE', 'Oostakker', 'Gent'), ('BE', 'Sint-Amandsberg', 'Gent'),
  ('BE', 'Sint-Denijs-Westrem', 'Gent'), ('BE', 'Sint-Kruiswinkel', 'Gent'),
  ('BE', 'Wondelgem', 'Gent'), ('BE', 'Zwijnaarde', 'Gent'),
  ('BE', 'Ertvelde', 'Evergem'), ('BE', 'Kluizen', 'Evergem'), ('BE', 'Sleidinge', 'Evergem'),
  ('BE', 'Moerkerke', 'Damme'), ('BE', 'Oosteeklo', 'Assenede'), ('BE', 'Elsegem', 'Wortegem-Petegem'),
  ('BE', 'Idegem', 'Geraardsbergen'), ('BE', 'Hoevenen', 'Stabroek'), ('BE', 'Gellik', 'Lanaken'),
  ('BE', 'Walshoutem', 'Landen'),
  ('BE', 'Nossegem', 'Zaventem'), ('BE', 'Sint-Stevens-Woluwe', 'Zaventem'),
  ('BE', 'Sterrebeek', 'Zaventem'),
  -- Wallonia
  ('BE', 'Angleur', 'Liège'), ('BE', 'Bressoux', 'Liège'), ('BE', 'Chênée', 'Liège'),
  ('BE', 'Glain', 'Liège'), ('BE', 'Grivegnée', 'Liège'), ('BE', 'Jupille-sur-Meuse', 'Liège'),
  ('BE', 'Rocourt', 'Liège'), ('BE', 'Wandre', 'Liège'),
  ('BE', 'Boncelles', 'Seraing'), ('BE', 'Jemeppe-sur-Meuse', 'Seraing'), ('BE', 'Ougrée', 'Seraing'),
  ('BE', 'Couillet', 'Charleroi'), ('BE', 'Dampremy', 'Charleroi'), ('BE', 'Gilly', 'Charleroi'),
  ('BE', 'Gosselies', 'Charleroi'), ('BE', 'Goutroux', 'Charleroi'), ('BE', 'Jumet', 'Charleroi'),
  ('BE', 'Lodelinsart', 'Charleroi'), ('BE', 'Marchienne', 'Charleroi'),
  ('BE', 'Marchienne-au-Pont', 'Charleroi'), ('BE', 'Marcinelle', 'Charleroi'),
  ('BE', 'Mont-sur-Marchienne', 'Charleroi'), ('BE', 'Montignies-sur-Sambre', 'Charleroi'),
  ('BE', 'Ransart', 'Charleroi'), ('BE', 'Roux', 'Charleroi'),
  ('BE', 'Bouffioulx', 'Châtelet'), ('BE', 'Châtelineau', 'Châtelet'),
  ('BE', 'Havinnes', 'Tournai'), ('BE', 'Corroy-le-Grand', 'Chaumont-Gistoux'),
  ('BE', 'Corroy-Le-Grand', 'Chaumont-Gistoux'), ('BE', 'Membach', 'Baelen'),
  ('BE', 'Vezin', 'Andenne'), ('BE', 'Sinsin', 'Somme-Leuze'), ('BE', 'Dourbes', 'Viroinval'),
  ('BE', 'Offagne', 'Paliseul'), ('BE', 'Habay-la-Neuve', 'Habay'), ('BE', 'Habay-La-Neuve', 'Habay'),
  ('BE', 'Namür', 'Namur'),
  -- Brussels: the 19 communes of the Brussels-Capital Region, in French and Dutch where the
  -- names differ, and the parts of the City of Brussels
  ('BE', 'Anderlecht', 'Brussels'), ('BE', 'Auderghem', 'Brussels'), ('BE', 'Oudergem', 'Brussels'),
  ('BE', 'Berchem-Sainte-Agathe', 'Brussels'), ('BE', 'Sint-Agatha-Berchem', 'Brussels'),
  ('BE', 'Ville de Bruxelles', 'Brussels'), ('BE', 'Stad Brussel', 'Brussels'),
  ('BE', 'City of Brussels', 'Brussels'), ('BE', 'Etterbeek', 'Brussels'), ('BE', 'Evere', 'Brussels'),
  ('BE', 'Forest', 'Brussels'), ('BE', 'Vorst', 'Brussels'), ('BE', 'Ganshoren', 'Brussels'),
  ('BE', 'Ixelles', 'Brussels'), ('BE', 'Elsene', 'Brussels'), ('BE', 'Jette', 'Brussels'),
  ('BE', 'Koekelberg', 'Brussels'), ('BE', 'Molenbeek-Saint-Jean', 'Brussels'),
  ('BE', 'Sint-Jans-Molenbeek', 'Brussels'), ('BE', 'Molenbeek', 'Brussels'),
  ('BE', 'Saint-Gilles', 'Brussels'), ('BE', 'Sint-Gillis', 'Brussels'),
  ('BE', 'Saint-Josse-ten-Noode', 'Brussels'), ('BE', 'Sint-Joost-ten-Node', 'Brussels'),
  ('BE', 'Schaerbeek', 'Brussels'), ('BE', 'Schaarbeek', 'Brussels'), ('BE', 'Uccle', 'Brussels'),
  ('BE', 'Ukkel', 'Brussels'), ('BE', 'Watermael-Boitsfort', 'Brussels'),
  ('BE', 'Watermaal-Bosvoorde', 'Brussels'), ('BE', 'Woluwe-Saint-Lambert', 'Brussels'),
  ('BE', 'Sint-Lambrechts-Woluwe', 'Brussels'), ('BE', 'Woluwe-Saint-Pierre', 'Brussels'),
  ('BE', 'Sint-Pieters-Woluwe', 'Brussels'), ('BE', 'Haren', 'Brussels'), ('BE', 'Laeken', 'Brussels'),
  ('BE', 'Laken', 'Brussels'), ('BE', 'Neder-Over-Heembeek', 'Brussels')
ON DUPLICATE KEY UPDATE city = VALUES(city);
